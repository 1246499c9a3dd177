/** Chat, e-mail and notification services: tokens and webhooks that post as your organization. */
import { defineRule, keyedRule, prefixedRule, START, END, END_DASH, UUID, type SecretRule } from './rule.js';

export const messagingRules: SecretRule[] = [
  prefixedRule('slack-bot-token', 'Slack bot token', 'xoxb-', '\\d{8,13}-\\d{8,13}-[A-Za-z0-9]{20,32}', { end: END }),
  prefixedRule('slack-user-token', 'Slack user token', 'xoxp-', '\\d{8,13}-\\d{8,13}-\\d{8,13}-[a-f0-9]{32}', { end: END }),
  prefixedRule('slack-legacy-token', 'Slack legacy workspace / refresh / session token', 'xox[aors]-', '(?:\\d{1,13}-){1,4}[A-Za-z0-9]{10,64}', {
    keywords: ['xoxa-', 'xoxo-', 'xoxr-', 'xoxs-'],
    end: END,
  }),
  prefixedRule('slack-config-token', 'Slack configuration access / refresh token', 'xoxe(?:\\.xox[bp])?-1-', '[A-Za-z0-9]{100,300}', {
    keywords: ['xoxe'],
    end: END,
  }),
  prefixedRule('slack-app-token', 'Slack app-level token', 'xapp-\\d-', '[A-Z0-9]{9,12}-\\d{10,14}-[a-f0-9]{60,70}', {
    keywords: ['xapp-'],
    end: END,
  }),
  defineRule(
    'slack-webhook-url',
    'Slack incoming webhook / workflow URL',
    ['hooks.slack.com'],
    'https://hooks\\.slack\\.com/(?:services|workflows|triggers)/(?<secret>T[A-Z0-9]{8,12}/[AB][A-Z0-9]{8,12}/[A-Za-z0-9]{20,32})',
    { confidence: 0.97 },
  ),
  defineRule(
    'discord-webhook-url',
    'Discord webhook URL',
    ['discord'],
    'https://(?:ptb\\.|canary\\.)?discord(?:app)?\\.com/api/webhooks/\\d{17,20}/(?<secret>[A-Za-z0-9_-]{60,68})',
    { confidence: 0.97 },
  ),
  defineRule(
    'discord-bot-token',
    'Discord bot token',
    ['discord', 'bot'],
    `${START}[MNO][A-Za-z0-9_-]{23,25}\\.[A-Za-z0-9_-]{6}\\.[A-Za-z0-9_-]{27,38}${END_DASH}`,
    { confidence: 0.85, minEntropy: 4 },
  ),
  defineRule(
    'telegram-bot-token',
    'Telegram bot API token',
    [':aa'],
    `(?<![A-Za-z0-9_:])\\d{8,10}:AA[A-Za-z0-9_-]{33}${END_DASH}`,
    { confidence: 0.95 },
  ),
  defineRule(
    'teams-webhook-url',
    'Microsoft Teams incoming webhook URL',
    ['webhook.office.com'],
    `https://[a-z0-9-]{1,60}\\.webhook\\.office\\.com/webhookb2/(?<secret>${UUID}@${UUID}/IncomingWebhook/[0-9a-f]{32}/${UUID})`,
    { confidence: 0.97, flags: 'i' },
  ),
  defineRule(
    'twilio-api-key',
    'Twilio API key SID',
    ['sk'],
    `${START}SK[0-9a-f]{32}${END}`,
    { confidence: 0.85, minEntropy: 3 },
  ),
  defineRule(
    'twilio-account-sid',
    'Twilio account SID (identifies the account a leaked auth token unlocks)',
    ['twilio', 'account_sid', 'accountsid'],
    `${START}AC[0-9a-f]{32}${END}`,
    { confidence: 0.8, minEntropy: 3 },
  ),
  keyedRule('twilio-auth-token', 'Twilio auth token', ['twilio', 'auth_token'], '(?:twilio[\\w.-]{0,20}?|twilio_)?auth[_-]?token', '[a-f0-9]{32}', {
    minEntropy: 3,
  }),
  prefixedRule('sendgrid-api-key', 'SendGrid API key', 'SG\\.', '[A-Za-z0-9_-]{22}\\.[A-Za-z0-9_-]{43}', { keywords: ['sg.'], confidence: 0.97 }),
  prefixedRule('mailgun-api-key', 'Mailgun API key (key- form)', 'key-', '[0-9a-f]{32}', { end: END, minEntropy: 3 }),
  keyedRule('mailgun-private-key', 'Mailgun private API key', ['mailgun'], 'mailgun[\\w.-]{0,20}?(?:api[_-]?)?key', '[0-9a-f]{32}-[0-9a-f]{8}-[0-9a-f]{8}', {
    confidence: 0.9,
  }),
  defineRule(
    'mailchimp-api-key',
    'Mailchimp API key',
    ['-us'],
    `${START}[0-9a-f]{32}-us\\d{1,2}${END}`,
    { confidence: 0.95, minEntropy: 3 },
  ),
  prefixedRule('mandrill-api-key', 'Mailchimp Transactional (Mandrill) API key', 'md-', '[A-Za-z0-9_-]{22}', {
    keywords: ['mandrill'],
    confidence: 0.8,
    minEntropy: 3.5,
  }),
  prefixedRule('brevo-api-key', 'Brevo (Sendinblue) API key', 'xkeysib-', '[a-f0-9]{64}-[A-Za-z0-9]{16}', { end: END }),
  keyedRule('postmark-server-token', 'Postmark server API token', ['postmark'], 'postmark[\\w.-]{0,20}?(?:api[_-]?|server[_-]?)?(?:key|token)', UUID, {}),
  keyedRule('mailjet-api-secret', 'Mailjet API secret', ['secret', 'private'], '(?:mailjet|mj)[\\w.-]{0,20}?(?:secret|private)', '[a-f0-9]{32}', {
    minEntropy: 3,
  }),
  prefixedRule('resend-api-key', 'Resend API key', 're_', '[A-Za-z0-9]{8}_[A-Za-z0-9]{24}', { end: END, minEntropy: 3.5 }),
  keyedRule('messagebird-api-key', 'MessageBird / Bird API key', ['messagebird'], 'messagebird[\\w.-]{0,20}?(?:api[_-]?|access[_-]?)?(?:key|token)', '[A-Za-z0-9]{25}', {
    minEntropy: 3.5,
  }),
  keyedRule('mattermost-access-token', 'Mattermost personal access token', ['mattermost'], 'mattermost[\\w.-]{0,20}?(?:access[_-]?)?token', '[a-z0-9]{26}', {
    minEntropy: 3.5,
  }),
  keyedRule('zoom-client-secret', 'Zoom app client secret', ['zoom'], 'zoom[\\w.-]{0,20}?(?:client[_-]?)?secret', '[A-Za-z0-9]{32}', {
    minEntropy: 3.8,
  }),
];
