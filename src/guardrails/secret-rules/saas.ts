/** Productivity, identity and developer SaaS: tokens that read a company's documents, tickets and users. */
import { defineRule, keyedRule, prefixedRule, START, END, END_DASH, type SecretRule } from './rule.js';

export const saasRules: SecretRule[] = [
  prefixedRule('linear-api-key', 'Linear API key', 'lin_api_', '[A-Za-z0-9]{40}', { end: END }),
  prefixedRule('linear-oauth-token', 'Linear OAuth access token', 'lin_oauth_', '[a-f0-9]{64}', { end: END }),
  defineRule(
    'notion-integration-token',
    'Notion internal integration secret',
    ['secret_', 'ntn_'],
    `${START}(?:secret_[A-Za-z0-9]{43}|ntn_\\d{11}[A-Za-z0-9]{32,35})${END}`,
    { confidence: 0.9, minEntropy: 4 },
  ),
  prefixedRule('atlassian-api-token', 'Atlassian (Jira / Confluence) API token', 'ATATT3', '[A-Za-z0-9_=-]{180,200}', {
    keywords: ['atatt3'],
    minEntropy: 4,
  }),
  keyedRule('atlassian-legacy-api-token', 'Atlassian API token (24-character legacy form)', ['jira', 'confluence', 'atlassian'], '(?:jira|confluence|atlassian)[\\w.-]{0,20}?(?:api[_-]?)?token', '[A-Za-z0-9]{24}', {
    minEntropy: 3.5,
  }),
  keyedRule('okta-api-token', 'Okta API token', ['okta'], 'okta[\\w.-]{0,20}?(?:api[_-]?)?(?:key|token)', '00[A-Za-z0-9_-]{40}', {}),
  prefixedRule('databricks-token', 'Databricks personal access token', 'dapi', '[a-f0-9]{32}(?:-\\d)?', { end: END, minEntropy: 3 }),
  keyedRule('auth0-client-secret', 'Auth0 application client secret', ['auth0'], 'auth0[\\w.-]{0,20}?(?:client[_-]?)?secret', '[A-Za-z0-9_-]{64}', { minEntropy: 4 }),
  prefixedRule('airtable-pat', 'Airtable personal access token', 'pat', '[A-Za-z0-9]{14}\\.[a-f0-9]{64}', {
    keywords: ['pat'],
    end: END,
  }),
  defineRule(
    'asana-pat',
    'Asana personal access token',
    ['asana', '1/', '2/'],
    `${START}[12]/\\d{14,18}(?::[A-Za-z0-9]{32}|/\\d{14,18}:[a-f0-9]{32})${END}`,
    { confidence: 0.9 },
  ),
  prefixedRule('hubspot-private-app-token', 'HubSpot private app access token', 'pat-(?:na|eu|ap)\\d-', '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', {
    keywords: ['pat-na', 'pat-eu', 'pat-ap'],
  }),
  keyedRule('intercom-access-token', 'Intercom access token', ['intercom'], 'intercom[\\w.-]{0,20}?(?:access[_-]?)?token', '[A-Za-z0-9=_-]{60}', { minEntropy: 4 }),
  keyedRule('zendesk-api-token', 'Zendesk API token', ['zendesk'], 'zendesk[\\w.-]{0,20}?(?:api[_-]?)?token', '[A-Za-z0-9]{40}', { minEntropy: 4 }),
  prefixedRule('figma-pat', 'Figma personal access token', 'figd_', '[A-Za-z0-9_-]{40}'),
  prefixedRule('contentful-pat', 'Contentful personal access token', 'CFPAT-', '[A-Za-z0-9_-]{43}', { keywords: ['cfpat-'] }),
  prefixedRule('typeform-pat', 'Typeform personal access token', 'tfp_', '[A-Za-z0-9_.-]{59}', {}),
  prefixedRule('dropbox-short-lived-token', 'Dropbox short-lived access token', 'sl\\.', '[A-Za-z0-9_-]{130,1400}', {
    keywords: ['sl.'],
    minEntropy: 4,
  }),
  keyedRule('dropbox-long-lived-token', 'Dropbox long-lived access token', ['dropbox'], 'dropbox[\\w.-]{0,20}?(?:access[_-]?)?token', '[A-Za-z0-9_-]{11}AAAAAAAAAA[A-Za-z0-9_-]{43}', {
    allowRepeats: true,
  }),
  defineRule(
    'salesforce-access-token',
    'Salesforce OAuth access / session token',
    ['00d'],
    `${START}00D[A-Za-z0-9]{12,15}![A-Za-z0-9_.]{90,110}(?![A-Za-z0-9_.])`,
    { confidence: 0.95 },
  ),
  defineRule(
    'facebook-access-token',
    'Facebook / Meta Graph API access token',
    ['eaa'],
    `${START}EAA[A-Za-z0-9]{100,250}${END}`,
    { confidence: 0.85, minEntropy: 4 },
  ),
  defineRule(
    'twitter-bearer-token',
    'Twitter / X API bearer token',
    ['aaaaaaaaaaaaaaaaaaaaa'],
    `${START}A{22}[A-Za-z0-9%]{30,120}${END}`,
    { confidence: 0.9, allowRepeats: true },
  ),
  keyedRule('twitter-api-secret', 'Twitter / X API secret', ['twitter', 'x_api'], '(?:twitter|x)[\\w.-]{0,20}?(?:api|consumer|access[_-]?token)[_-]?secret', '[A-Za-z0-9]{45,50}', {
    minEntropy: 4,
  }),
  defineRule(
    'mapbox-secret-token',
    'Mapbox secret access token',
    ['sk.eyj'],
    `${START}sk\\.eyJ[A-Za-z0-9_-]{50,300}\\.[A-Za-z0-9_-]{20,64}${END_DASH}`,
    { confidence: 0.95 },
  ),
  defineRule(
    'firebase-cloud-messaging-server-key',
    'Firebase Cloud Messaging legacy server key',
    ['apa91b'],
    `${START}AAAA[A-Za-z0-9_-]{7}:APA91b[A-Za-z0-9_-]{134}${END_DASH}`,
    { confidence: 0.97 },
  ),
  defineRule(
    'onepassword-service-account-token',
    '1Password service account token',
    ['ops_eyj'],
    `${START}ops_eyJ[A-Za-z0-9+/=_-]{250,2000}`,
    { confidence: 0.97 },
  ),
  defineRule(
    'onepassword-secret-key',
    '1Password account secret key',
    ['a3-'],
    `${START}A3-[A-Z0-9]{6}-[A-Z0-9]{6}-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}${END}`,
    { confidence: 0.95 },
  ),
  prefixedRule('frameio-api-token', 'Frame.io API token', 'fio-u-', '[A-Za-z0-9_=-]{64}', {}),
  prefixedRule('adobe-client-secret', 'Adobe client secret', 'p8e-', '[A-Za-z0-9]{32}', { end: END, minEntropy: 3.8 }),
  prefixedRule('scalingo-api-token', 'Scalingo API token', 'tk-us-', '[A-Za-z0-9_-]{48}', {}),
  keyedRule('twitch-client-secret', 'Twitch API client secret / OAuth token', ['twitch'], 'twitch[\\w.-]{0,20}?(?:client[_-]?secret|oauth[_-]?token|api[_-]?token)', '[a-z0-9]{30}', {
    minEntropy: 3.5,
  }),
  keyedRule('box-api-token', 'Box developer token / client secret', ['box_', 'box-'], 'box[_-](?:developer[_-]?token|client[_-]?secret|access[_-]?token)', '[A-Za-z0-9]{32}', {
    minEntropy: 3.8,
  }),
  keyedRule('beamer-api-key', 'Beamer API key', ['beamer'], 'beamer[\\w.-]{0,20}?(?:api[_-]?)?key', 'b_[A-Za-z0-9=_-]{44}', {}),
  keyedRule('launchdarkly-access-token', 'LaunchDarkly access token / SDK key', ['launchdarkly', 'ld_sdk'], '(?:launchdarkly|ld)[\\w.-]{0,20}?(?:access[_-]?token|sdk[_-]?key|api[_-]?key)', '(?:api|sdk)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', {}),
  keyedRule('segment-write-key', 'Segment write key', ['segment'], 'segment[\\w.-]{0,20}?write[_-]?key', '[A-Za-z0-9]{32}', { minEntropy: 3.8 }),
  keyedRule('mixpanel-api-secret', 'Mixpanel API secret', ['mixpanel'], 'mixpanel[\\w.-]{0,20}?(?:api[_-]?)?secret', '[a-f0-9]{32}', { minEntropy: 3 }),
  keyedRule('clickup-api-token', 'ClickUp personal API token', ['clickup', 'pk_'], 'clickup[\\w.-]{0,20}?(?:api[_-]?)?(?:key|token)', 'pk_\\d{6,10}_[A-Z0-9]{32}', {}),
  keyedRule('trello-api-token', 'Trello API token', ['trello'], 'trello[\\w.-]{0,20}?(?:api[_-]?)?token', '(?:ATTA)?[a-f0-9]{64}', { minEntropy: 3 }),
  keyedRule('monday-api-token', 'monday.com API token (JWT assigned to a monday name)', ['monday'], 'monday[\\w.-]{0,20}?(?:api[_-]?)?(?:key|token)', 'eyJ[A-Za-z0-9_-]{10,500}\\.eyJ[A-Za-z0-9_-]{10,1000}\\.[A-Za-z0-9_-]{10,500}', { confidence: 0.9 }),
];
