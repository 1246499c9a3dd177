/**
 * A name's letters alone, in lower case, compatibility forms folded (a full-width `ａ` is `a`): what is left of a name
 * once every way of spelling it is set aside. `Agent-Id`, `agent%20id` and `\u200Bagent.id` are all `agentid`;
 * `Foundry_Agent`, `FOUNDRY-AGENT` and `FoundryAgent` are all `foundryagent`. Servers read names leniently (.NET reads
 * enum names in any letter case, case-insensitive JSON readers fold keys), in more ways than Edge can list, so a name
 * Edge refuses is compared by its letters.
 */
export function lettersOf(name: string): string {
  return name.normalize('NFKC').toLowerCase().replace(/[^a-z]/g, '');
}
