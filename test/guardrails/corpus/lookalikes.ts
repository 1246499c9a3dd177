/**
 * Text that resembles secrets or personal data but is neither: placeholders, hashes, ids, versions,
 * documentation examples. None of these may produce a finding.
 *
 * Decisions recorded here:
 *  - test card numbers in documentation / testing context ("Stripe test card 4242 4242 4242 4242") are not findings;
 *  - example.com / *.test addresses, loopback / documentation IPs and private-range IPs (confidence below the
 *    default minConfidence) are not findings;
 *  - dates without DOB context, timestamps and order / tracking numbers are not findings;
 *  - widely published examples (AKIAIOSFODNN7EXAMPLE, DE89 3704 0044 0532 0130 00, 078-05-1120, QQ123456C) are not findings.
 */
import { B64, B64URL, base64url, cardNumber, Fake, HEX, j, LOWER_ALNUM } from './fake-data.js';

export interface Lookalike {
  id: string;
  text: string;
}

export function buildLookalikes(): Lookalike[] {
  const f = new Fake('lookalikes');
  const out: Lookalike[] = [];
  const add = (id: string, text: string): void => {
    out.push({ id, text });
  };

  // ---- placeholders people paste from docs and templates
  const placeholders = [
    `export OPENAI_API_KEY=${j('sk-', 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx')}`,
    `OPENAI_API_KEY=${j('sk-', 'proj-', 'XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX')}`,
    'const openai = new OpenAI({ apiKey: process.env.OPENAI_API_KEY });',
    'api_key = os.environ["ANTHROPIC_API_KEY"]',
    'Authorization: Bearer ${TOKEN}',
    'curl -H "Authorization: Bearer $GITHUB_TOKEN" https://api.github.com/user',
    'curl -H "Authorization: Bearer <your-access-token>" https://api.example.com',
    'Set `api_key: YOUR_API_KEY` in config.yaml and restart.',
    `aws_access_key_id = ${j('AKIA', 'IOSFODNN7EXAMPLE')}\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`,
    `GITHUB_TOKEN=${j('ghp_', 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx')}`,
    `slack_token: "${j('xoxb-', 'your-bot-token-here')}"`,
    `STRIPE_SECRET_KEY=${j('sk_', 'live_', '...')}`,
    'DATABASE_URL=postgres://user:password@localhost:5432/mydb',
    'mongodb://<username>:<password>@cluster0.mongodb.net/test',
    'redis://:${REDIS_PASSWORD}@redis:6379/0',
    '{"username": "admin", "password": "<your-password>"}',
    'password: ********',
    'DB_PASSWORD=changeme',
    'password = getpass.getpass("Password: ")',
    'if (password.length < 8) throw new Error("password too short");',
    'password: string; // hashed with bcrypt before storage',
    'self.password = kwargs.get("password")',
    'PASSWORD=${{ secrets.DB_PASSWORD }}',
    'Use `hf_...` tokens from https://huggingface.co/settings/tokens',
    `token = "${j('hf_', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')}"`,
    'GEMINI_API_KEY=<insert key here>',
    `"api_key": "${j('sk-', '1234567890abcdef1234567890abcdef')}"`,
    'client_secret: {{ vault_client_secret }}',
    'x-api-key: %API_KEY%',
    'SENTRY_DSN=https://<key>@o0.ingest.sentry.io/<project>',
    `AZURE_OPENAI_API_KEY=${'0'.repeat(32)}`,
    'token: process.env.NPM_TOKEN',
    'secret_key = settings.SECRET_KEY',
    '-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----',
    'Paste your key (starts with sk-ant-) into the field above.',
  ];
  placeholders.forEach((text, i) => add(`placeholder:${i}`, text));

  // ---- hashes and identifiers
  for (let i = 0; i < 8; i++) add(`git-sha:${i}`, `Reverted commit ${f.str(HEX, 40)} because it broke the build (see ${f.str(HEX, 7)}).`);
  for (let i = 0; i < 8; i++) add(`sha256:${i}`, `sha256:${f.str(HEX, 64)}  dist/app-${i}.tar.gz`);
  for (let i = 0; i < 6; i++) add(`image-digest:${i}`, `image: ghcr.io/acme/api@sha256:${f.str(HEX, 64)}`);
  for (let i = 0; i < 8; i++) add(`uuid:${i}`, `request_id=${f.uuid()} status=500 duration_ms=${120 + i}`);
  for (let i = 0; i < 4; i++) add(`uuid-json:${i}`, `{"id": "${f.uuid()}", "object": "chat.completion", "created": 17${f.str('0123456789', 8)}}`);
  for (let i = 0; i < 4; i++) add(`npm-integrity:${i}`, `"integrity": "sha512-${f.str(B64, 86)}=="`);
  for (let i = 0; i < 4; i++) add(`md5:${i}`, `md5sum: ${f.str(HEX, 32)}  backup-${i}.sql`);

  // ---- base64 image fragments and encoded blobs
  for (let i = 0; i < 6; i++) add(`data-uri:${i}`, `<img src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAA${f.str(B64, 200)}=" alt="chart">`);
  add('base64-json', `{"image": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQSkZJRgABAQ${f.str(B64, 300)}"}}`);
  add('base64url-state', `https://app.acme.io/callback?state=${f.str(B64URL, 43)}&code_challenge_method=S256`);

  // ---- versions, dates, timestamps, numbers
  const numbers = [
    'Upgrade from 1.2.3 to 1.10.0 fixed the memory leak.',
    'Tested on Windows 10.0.19045.3570 and macOS 14.4.1.',
    'Requires node >= 20.11.1 and npm 10.2.4',
    'pip install "requests==2.31.0" "urllib3<2.0.7"',
    'The release 2024.01.15 introduced the new scheduler.',
    'Chrome 124.0.6367.91 crashes when the tab is reloaded.',
    'version 4.19.2.1 of the firmware is affected',
    'The meeting moved to 2024-03-15 at 14:30 CET.',
    'Invoice due 15/04/2024, late fee applies after 30 days.',
    'Sprint 12 runs from 01.02.2024 to 14.02.2024.',
    'Log line: 2024-05-01T02:13:44.123Z level=info msg="started"',
    'The epoch timestamp 1714529624123 corresponds to May 1st.',
    'created_at: 1700000000, updated_at: 1700003600',
    'Order #4159-5501-32 has shipped, tracking 1Z999AA10123456784.',
    'Order number 555-123-4567 was refunded yesterday.',
    'Your confirmation code is 7362-9910-4471.',
    'Ticket INC-20240315-0042 was escalated.',
    'Invoice no. 2024-000123 totals 1,299.00 EUR.',
    'ISBN 978-0-306-40615-7 is the second edition.',
    'Part number 0430-2210-9981 is out of stock.',
    'Account id 123456789012 in us-east-1 owns the bucket.',
    'The build 20240315.4 passed all 1532 tests.',
    'Pi is roughly 3.14159265358979 and e is 2.71828182845904.',
    'Coordinates 48.8584, 2.2945 mark the Eiffel Tower.',
    'Population grew from 1,234,567 to 2,345,678 in ten years.',
    'Serial: 5CD1234XYZ, model 14-ep0001na',
    'Error code 0x80070005 (access denied) on step 3 of 7.',
    'Port range 49152-65535 is used for ephemeral ports.',
    'Set the timeout to 30000 ms and retries to 5.',
    'Batch 2023-11-07-001 processed 9,876 rows in 12.5s.',
    'Room 0123 4567 is booked for the workshop.',
    'Release 10.0.0.1 of the app is going out tomorrow',
    'We shipped v2.10.3 and then hotfix 2.10.4.',
  ];
  numbers.forEach((text, i) => add(`number:${i}`, text));

  // ---- documentation examples and test data
  const docs = [
    'Stripe test card 4242 4242 4242 4242 with any future expiry works in test mode.',
    'Use 4000 0566 5566 5556 (Visa debit) in the Stripe sandbox.',
    'Braintree testing: 4111 1111 1111 1111 succeeds, 4000 1111 1111 1115 fails.',
    'Test Mastercard: 5555 5555 5555 4444, CVC any 3 digits.',
    'In the docs, Amex test number 3782 822463 10005 is accepted.',
    'Example IBAN from the spec: DE89 3704 0044 0532 0130 00',
    'UK example IBAN GB82 WEST 1234 5698 7654 32 is used in tutorials.',
    'The SSA says 078-05-1120 was the wallet card number, never valid.',
    'The form placeholder shows 123-45-6789 as the SSN format.',
    'HMRC example NINO is QQ 12 34 56 C.',
    'Send feedback to support@example.com or test@test.test.',
    'git clone git@github.com:acme/infra.git',
    'Upload logo@2x.png and icon@3x.png to the assets folder.',
    'Run the server on 127.0.0.1:8080 and 0.0.0.0:443.',
    'Docs use 192.0.2.10 and 198.51.100.7 and 2001:db8::1 as example addresses.',
    'Office network is 10.20.30.0/24, the printer is 192.168.1.50.',
    'Netmask 255.255.255.0 with gateway 10.0.0.1.',
    'IPv6 loopback is ::1 and link-local starts with fe80::1.',
    'C++: std::vector<int> v; auto it = v.begin(); Foo::Bar::baz();',
    'MAC address 00:1a:2b:3c:4d:5e belongs to the access point.',
    'The clock shows 12:30:45 and the timer 00:05:00.',
    'JWT format is header.payload.signature, e.g. eyJhbGciOi...',
    `Example JWT from jwt.io: eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX`,
    'The phone field expects the format +1 (XXX) XXX-XXXX.',
    'Call 911 in an emergency, or 112 in Europe.',
    'Extension 4021, room B-12.',
    'Dial 0800 in the UK for free calls.',
    'My birthday party is on Saturday! The conference runs 2024-06-10 to 2024-06-12.',
    'born in the 1980s, she moved to Berlin in 2001.',
    'The lottery numbers were 4 8 15 16 23 42.',
    `Visa prefixes start with 4, e.g. a 16-digit number like ${cardNumber(f, '4', 16).slice(0, 6)}xxxxxxxxxx.`,
    'Use SIN format 123 456 789 in the Canadian payroll sample.',
    'Social insurance numbers are nine digits long.',
    'Aadhaar numbers are 12 digits; never store them unmasked.',
    'A BSN has 9 digits and passes the eleven test.',
    'Passport MRZ lines are 44 characters, e.g. P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<',
  ];
  docs.forEach((text, i) => add(`docs:${i}`, text));

  // ---- code and configuration without secrets
  const code = [
    'const tokenizer = new Tokenizer({ maxTokens: 4096, model: "gpt-4o" });',
    'max_tokens: 1024\ntemperature: 0.2\ntop_p: 0.95',
    'def get_api_key(name: str) -> str:\n    return vault.read(f"secret/{name}")["key"]',
    'headers = {"Authorization": f"Bearer {access_token}"}',
    'SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY")',
    'session_token = request.cookies.get("session_token")',
    'kubectl create secret generic db --from-literal=password=$(openssl rand -hex 16)',
    'env:\n  - name: API_KEY\n    valueFrom:\n      secretKeyRef: { name: api, key: token }',
    'The key_id field references the KMS key arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab.',
    'color: #1a2b3c; background: #ffffff; border-color: #a0b1c2;',
    `Cache key: ${f.str(LOWER_ALNUM, 24)}:v2:user-profile`,
    `Sourcemap: //# sourceMappingURL=data:application/json;base64,${base64url('{"version":3,"sources":["a.ts"]}')}`,
    'lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.',
    'SELECT id, email_verified, phone_verified FROM users WHERE created_at > now() - interval \'7 days\';',
    'The field `password_reset_token_expiry` is in seconds.',
    'bearer tokens expire after 3600 seconds; refresh_token rotation is enabled.',
    'Generated UUIDv7 ids sort by time, e.g. 018f3a2b-7c4d-7e5f-8a9b-0c1d2e3f4a5b.',
    'Use the `--token-file` flag instead of `--token` on shared machines.',
    'curl https://api.acme.io/v1/items?page_token=next&limit=50',
    'The secret sauce is good documentation.',
  ];
  code.forEach((text, i) => add(`code:${i}`, text));
  return out;
}
