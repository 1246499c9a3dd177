/**
 * One realistic, fake sample per built-in credential rule: the text a developer might paste and the exact
 * secret span the rule must report. Prefixes are assembled with `j(...)` so no vendor token appears whole.
 */
import {
  ALNUM, B64, B64URL, BASE32, BECH32, Fake, HEX, LETTERS, LOWER, LOWER_ALNUM, UPPER, UPPER_ALNUM,
  j, jwtFor, pemBlock,
} from './fake-data.js';

export interface SecretSample {
  text: string;
  secret: string;
}

type SampleBuilder = (f: Fake) => SecretSample;

const inProse = (value: string): SecretSample => ({ text: `Calls fail with 401 when I use ${value} — is it expired?`, secret: value });
const env = (name: string, value: string): SecretSample => ({ text: `# .env\n${name}=${value}\nDEBUG=false`, secret: value });

export const SECRET_SAMPLES: Record<string, SampleBuilder> = {
  // ---- AI providers
  'openai-project-key': (f) => inProse(j('sk-', 'proj-', f.str(B64URL, 120))),
  'openai-service-account-key': (f) => inProse(j('sk-', 'svcacct-', f.str(B64URL, 100))),
  'openai-admin-key': (f) => inProse(j('sk-', 'admin-', f.str(B64URL, 100))),
  'openai-legacy-key': (f) => inProse(j('sk-', f.str(ALNUM, 20), 'T3Blbk', 'FJ', f.str(ALNUM, 20))),
  'anthropic-api-key': (f) => env('ANTHROPIC_API_KEY', j('sk-', 'ant-', 'api03-', f.str(B64URL, 93), 'AA')),
  'anthropic-admin-key': (f) => inProse(j('sk-', 'ant-', 'admin01-', f.str(B64URL, 93), 'AA')),
  'anthropic-oauth-token': (f) => inProse(j('sk-', 'ant-', 'oat01-', f.str(B64URL, 93), 'AA')),
  'bifrost-virtual-key': (f) => inProse(j('sk-', 'bf-', f.str(ALNUM, 32))),
  'groq-api-key': (f) => env('GROQ_API_KEY', j('gsk', '_', f.str(ALNUM, 52))),
  'huggingface-access-token': (f) => inProse(j('hf', '_', f.str(LETTERS, 34))),
  'huggingface-org-token': (f) => inProse(j('api_', 'org_', f.str(LETTERS, 34))),
  'xai-api-key': (f) => inProse(j('xai', '-', f.str(ALNUM, 80))),
  'perplexity-api-key': (f) => inProse(j('pplx', '-', f.str(ALNUM, 48))),
  'openrouter-api-key': (f) => inProse(j('sk-', 'or-v1-', f.str(HEX, 64))),
  'replicate-api-token': (f) => inProse(j('r8', '_', f.str(ALNUM, 37))),
  'langsmith-api-key': (f) => inProse(j('lsv2', '_pt_', f.str(HEX, 32), '_', f.str(HEX, 10))),
  'pinecone-api-key': (f) => inProse(j('pcsk', '_', f.str(ALNUM, 6), '_', f.str(ALNUM, 60))),
  'elevenlabs-api-key': (f) => inProse(j('sk', '_', f.str(HEX, 48))),
  'deepseek-api-key': (f) => env('DEEPSEEK_API_KEY', j('sk-', f.str(HEX, 32))),
  'mistral-api-key': (f) => env('MISTRAL_API_KEY', f.str(ALNUM, 32)),
  'cohere-api-key': (f) => env('COHERE_API_KEY', f.str(ALNUM, 40)),
  'together-api-key': (f) => env('TOGETHER_API_KEY', f.str(ALNUM, 56)),
  'fireworks-api-key': (f) => env('FIREWORKS_API_KEY', j('fw', '_', f.str(ALNUM, 24))),
  'wandb-api-key': (f) => env('WANDB_API_KEY', f.str(HEX, 40)),
  'assemblyai-api-key': (f) => env('ASSEMBLYAI_API_KEY', f.str(HEX, 32)),
  'pinecone-legacy-api-key': (f) => env('PINECONE_API_KEY', f.uuid()),
  // ---- cloud
  'aws-access-key-id': (f) => inProse(j('AK', 'IA', f.str(UPPER + '234567', 16))),
  'aws-secret-access-key': (f) => ({ text: `[default]\naws_secret_access_key = ${(f.str(ALNUM + '+/', 40))}\nregion = eu-west-1`, secret: '' }),
  'aws-session-token': (f) => env('AWS_SESSION_TOKEN', f.str(ALNUM + '+/', 300)),
  'aws-mws-auth-token': (f) => inProse(j('amzn', '.mws.', f.uuid())),
  'aws-bedrock-api-key': (f) => env('AWS_BEARER_TOKEN_BEDROCK', j('AB', 'SK', f.str(B64, 132))),
  'gcp-api-key': (f) => inProse(j('AI', 'za', f.str(B64URL, 35))),
  'gcp-service-account-private-key': (f) => {
    const key = pemBlock(f, j('PRIVATE', ' KEY'), 8).replace(/\n/g, '\\n') + '\\n';
    return { text: `{\n  "type": "service_account",\n  "project_id": "acme-prod",\n  "private_key": "${key}",\n  "client_email": "ci@acme-prod.iam.gserviceaccount.com"\n}`, secret: key };
  },
  'gcp-service-account-key-id': (f) => ({ text: `{"type": "service_account", "private_key_id": "${(f.str(HEX, 40))}"}`, secret: '' }),
  'gcp-oauth-client-secret': (f) => env('GOOGLE_CLIENT_SECRET', j('GOC', 'SPX-', f.str(B64URL, 28))),
  'google-oauth-access-token': (f) => inProse(j('ya', '29.', f.str(B64URL, 150))),
  'google-oauth-refresh-token': (f) => ({ text: `{"refresh_token": "${j('1//', '0', f.str(B64URL, 100))}"}`, secret: '' }),
  'azure-storage-connection-string': (f) => ({
    text: `var conn = "DefaultEndpointsProtocol=https;AccountName=acmeprod;AccountKey=${(f.str(B64, 86))}==;EndpointSuffix=core.windows.net";`,
    secret: '',
  }),
  'azure-storage-account-key': (f) => env('AZURE_STORAGE_KEY', `${f.str(B64, 86)}==`),
  'azure-sas-token': (f) => {
    const secret = `${f.str(ALNUM, 43)}%3D`;
    return { text: `curl "https://acme.blob.core.windows.net/backups/db.bak?sv=2022-11-02&ss=b&srt=o&sp=r&se=2026-01-01T00:00:00Z&spr=https&sig=${secret}"`, secret };
  },
  'azure-ad-client-secret': (f) => inProse(j(f.str(LOWER, 3), String(f.int(10)), 'Q~', f.str(ALNUM + '_~.', 34))),
  'azure-service-bus-connection-string': (f) => ({
    text: `Endpoint=sb://acme-bus.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=${(f.str(B64, 43))}=`,
    secret: '',
  }),
  'azure-cosmosdb-key': (f) => ({
    text: `AccountEndpoint=https://acme-db.documents.azure.com:443/;AccountKey=${(f.str(B64, 86))}==;`,
    secret: '',
  }),
  'azure-openai-api-key': (f) => env('AZURE_OPENAI_API_KEY', f.str(HEX, 32)),
  'azure-devops-pat': (f) => env('AZURE_DEVOPS_PAT', f.str(BASE32, 52)),
  'alibaba-access-key-id': (f) => inProse(j('LT', 'AI', f.str(ALNUM, 20))),
  'alibaba-access-key-secret': (f) => env('ALIBABA_CLOUD_ACCESS_KEY_SECRET', f.str(ALNUM, 30)),
  'tencent-cloud-secret-id': (f) => inProse(j('AK', 'ID', f.str(ALNUM, 32))),
  'ibm-cloud-api-key': (f) => env('IBM_CLOUD_API_KEY', f.str(B64URL, 44)),
  'digitalocean-pat': (f) => inProse(j('dop', '_v1_', f.str(HEX, 64))),
  'digitalocean-oauth-token': (f) => inProse(j('doo', '_v1_', f.str(HEX, 64))),
  'digitalocean-refresh-token': (f) => inProse(j('dor', '_v1_', f.str(HEX, 64))),
  'heroku-api-key': (f) => env('HEROKU_API_KEY', f.uuid()),
  'heroku-api-key-v2': (f) => inProse(j('HR', 'KU-', 'AA', f.str(B64URL, 58))),
  'cloudflare-api-token': (f) => env('CLOUDFLARE_API_TOKEN', f.str(B64URL, 40)),
  'cloudflare-global-api-key': (f) => env('CLOUDFLARE_API_KEY', f.str(HEX, 37)),
  'cloudflare-origin-ca-key': (f) => inProse(j('v1', '.0-', f.str(HEX, 24), '-', f.str(HEX, 146))),
  'fastly-api-token': (f) => env('FASTLY_API_TOKEN', f.str(B64URL, 32)),
  'linode-token': (f) => env('LINODE_TOKEN', f.str(HEX, 64)),
  'vultr-api-key': (f) => env('VULTR_API_KEY', f.str(UPPER_ALNUM, 36)),
  'scaleway-secret-key': (f) => env('SCW_SECRET_KEY', f.uuid()),
  'yandex-cloud-api-key': (f) => inProse(j('AQ', 'VN', f.str(B64URL, 36))),
  'vercel-access-token': (f) => inProse(j('vc', 'p_', f.str(ALNUM, 40))),
  'netlify-access-token': (f) => env('NETLIFY_AUTH_TOKEN', j('nfp', '_', f.str(ALNUM, 40))),
  'render-api-key': (f) => inProse(j('rnd', '_', f.str(ALNUM, 32))),
  'flyio-access-token': (f) => env('FLY_API_TOKEN', j('fm2', '_', f.str(B64, 200))),
  'planetscale-token': (f) => inProse(j('pscale', '_pw_', f.str(B64URL, 43))),
  'supabase-access-token': (f) => inProse(j('sbp', '_', f.str(HEX, 40))),
  'supabase-secret-key': (f) => inProse(j('sb_', 'secret_', f.str(B64URL, 40))),
  'tailscale-key': (f) => inProse(j('tskey', '-auth-', f.str(ALNUM, 16), '-', f.str(ALNUM, 32))),
  'ngrok-authtoken': (f) => env('NGROK_AUTHTOKEN', `${f.str(ALNUM, 27)}_${f.str(ALNUM, 21)}`),
  // ---- source control, CI, registries
  'github-pat': (f) => inProse(j('gh', 'p_', f.str(ALNUM, 36))),
  'github-oauth-token': (f) => inProse(j('gh', 'o_', f.str(ALNUM, 36))),
  'github-user-to-server-token': (f) => inProse(j('gh', 'u_', f.str(ALNUM, 36))),
  'github-server-to-server-token': (f) => inProse(j('gh', 's_', f.str(ALNUM, 36))),
  'github-refresh-token': (f) => inProse(j('gh', 'r_', f.str(ALNUM, 76))),
  'github-fine-grained-pat': (f) => inProse(j('github', '_pat_', f.str(ALNUM, 22), '_', f.str(ALNUM, 59))),
  'gitlab-pat': (f) => inProse(j('gl', 'pat-', f.str(B64URL, 20))),
  'gitlab-pipeline-trigger-token': (f) => inProse(j('gl', 'ptt-', f.str(HEX, 40))),
  'gitlab-runner-registration-token': (f) => inProse(j('GR', '1348941', f.str(B64URL, 20))),
  'gitlab-runner-auth-token': (f) => inProse(j('gl', 'rt-', f.str(B64URL, 26))),
  'gitlab-deploy-token': (f) => inProse(j('gl', 'dt-', f.str(B64URL, 24))),
  'gitlab-feed-token': (f) => inProse(j('gl', 'ft-', f.str(B64URL, 24))),
  'gitlab-oauth-app-secret': (f) => inProse(j('gl', 'oas-', f.str(HEX, 64))),
  'gitlab-ci-job-token': (f) => inProse(j('gl', 'cbt-', '64_', f.str(B64URL, 30))),
  'gitlab-agent-token': (f) => inProse(j('gl', 'agent-', f.str(B64URL, 50))),
  'bitbucket-app-password': (f) => inProse(j('AT', 'BB', f.str(ALNUM, 32))),
  'npm-access-token': (f) => inProse(j('npm', '_', f.str(ALNUM, 36))),
  'npm-legacy-auth-token': (f) => ({ text: `//registry.npmjs.org/:_auth${'Token'}=${(f.uuid())}`, secret: '' }),
  'pypi-upload-token': (f) => inProse(j('pypi', '-AgEIcHlwaS5vcmc', f.str(B64URL, 150))),
  'rubygems-api-key': (f) => inProse(j('rubygems', '_', f.str(HEX, 48))),
  'nuget-api-key': (f) => inProse(j('oy', '2', f.str(LOWER_ALNUM, 43))),
  'docker-hub-pat': (f) => inProse(j('dckr', '_pat_', f.str(B64URL, 27))),
  'docker-hub-org-token': (f) => inProse(j('dckr', '_oat_', f.str(B64URL, 32))),
  'jfrog-api-key': (f) => inProse(j('AK', 'Cp', f.str(ALNUM, 69))),
  'jfrog-identity-token': (f) => inProse(j('cmVmdGtu', 'OjAxOj', f.str(ALNUM, 50))),
  'sonarqube-token': (f) => inProse(j('sq', 'p_', f.str(HEX, 40))),
  'circleci-pat': (f) => inProse(j('CCI', 'PAT_', f.str(ALNUM, 22), '_', f.str(HEX, 40))),
  'buildkite-api-token': (f) => inProse(j('bk', 'ua_', f.str(HEX, 40))),
  'travis-ci-token': (f) => env('TRAVIS_API_TOKEN', f.str(B64URL, 22)),
  'snyk-api-token': (f) => env('SNYK_TOKEN', f.uuid()),
  'codecov-token': (f) => env('CODECOV_TOKEN', f.uuid()),
  'prefect-api-key': (f) => inProse(j('pn', 'u_', f.str(ALNUM, 36))),
  'terraform-cloud-token': (f) => inProse(j(f.str(ALNUM, 14), '.atlas', 'v1.', f.str(B64URL, 67))),
  'pulumi-access-token': (f) => inProse(j('pul', '-', f.str(HEX, 40))),
  'vault-service-token': (f) => inProse(j('hv', 's.', f.str(B64URL, 95))),
  'vault-batch-token': (f) => inProse(j('hv', 'b.', f.str(B64URL, 140))),
  'vault-legacy-token': (f) => env('VAULT_TOKEN', j('s.', f.str(ALNUM, 24))),
  'doppler-token': (f) => inProse(j('dp', '.pt.', f.str(ALNUM, 43))),
  'infracost-api-key': (f) => inProse(j('ico', '-', f.str(ALNUM, 32))),
  'readme-api-key': (f) => inProse(j('rdme', '_', f.str(LOWER_ALNUM, 70))),
  'postman-api-key': (f) => inProse(j('PM', 'AK-', f.str(HEX, 24), '-', f.str(HEX, 34))),
  'octopus-deploy-api-key': (f) => env('OCTOPUS_API_KEY', j('API', '-', f.str(UPPER_ALNUM, 26))),
  // ---- messaging
  'slack-bot-token': (f) => inProse(j('xo', 'xb-', f.digits(12), '-', f.digits(13), '-', f.str(ALNUM, 24))),
  'slack-user-token': (f) => inProse(j('xo', 'xp-', f.digits(12), '-', f.digits(12), '-', f.digits(13), '-', f.str(HEX, 32))),
  'slack-legacy-token': (f) => inProse(j('xo', 'xr-', f.digits(12), '-', f.str(ALNUM, 40))),
  'slack-config-token': (f) => inProse(j('xo', 'xe.xoxp-1-', f.str(ALNUM, 150))),
  'slack-app-token': (f) => inProse(j('xa', 'pp-1-', f.str(UPPER_ALNUM, 11), '-', f.digits(13), '-', f.str(HEX, 64))),
  'slack-webhook-url': (f) => {
    const secret = j('T', f.str(UPPER_ALNUM, 10), '/B', f.str(UPPER_ALNUM, 10), '/', f.str(ALNUM, 24));
    return { text: `curl -X POST ${j('https://hooks', '.slack.com/services/')}${secret} -d '{"text":"deploy done"}'`, secret };
  },
  'discord-webhook-url': (f) => {
    const secret = f.str(B64URL, 68);
    return { text: `WEBHOOK = "https://discord.com/api/webhooks/${f.digits(18)}/${secret}"`, secret };
  },
  'discord-bot-token': (f) => ({ text: `client.run('${j('MT', f.str(ALNUM, 22), '.', f.str(ALNUM, 6), '.', f.str(B64URL, 38))}')  # discord bot`, secret: '' }),
  'telegram-bot-token': (f) => inProse(j(f.digits(10), ':AA', f.str(B64URL, 33))),
  'teams-webhook-url': (f) => {
    const secret = `${f.uuid()}@${f.uuid()}/IncomingWebhook/${f.str(HEX, 32)}/${f.uuid()}`;
    return { text: `POST https://acme.webhook.office.com/webhookb2/${secret}`, secret };
  },
  'twilio-api-key': (f) => inProse(j('S', 'K', f.str(HEX, 32))),
  'twilio-account-sid': (f) => ({ text: `twilio client = Client("${j('A', 'C', f.str(HEX, 32))}", token)`, secret: '' }),
  'twilio-auth-token': (f) => env('TWILIO_AUTH_TOKEN', f.str(HEX, 32)),
  'sendgrid-api-key': (f) => inProse(j('S', 'G.', f.str(B64URL, 22), '.', f.str(B64URL, 43))),
  'mailgun-api-key': (f) => inProse(j('ke', 'y-', f.str(HEX, 32))),
  'mailgun-private-key': (f) => env('MAILGUN_API_KEY', `${f.str(HEX, 32)}-${f.str(HEX, 8)}-${f.str(HEX, 8)}`),
  'mailchimp-api-key': (f) => inProse(j(f.str(HEX, 32), '-us', '14')),
  'mandrill-api-key': (f) => ({ text: `mandrill_client = Mandrill('${j('md', '-', f.str(ALNUM, 22))}')`, secret: '' }),
  'brevo-api-key': (f) => inProse(j('xkey', 'sib-', f.str(HEX, 64), '-', f.str(ALNUM, 16))),
  'postmark-server-token': (f) => env('POSTMARK_SERVER_TOKEN', f.uuid()),
  'mailjet-api-secret': (f) => env('MJ_APIKEY_PRIVATE', f.str(HEX, 32)),
  'resend-api-key': (f) => inProse(j('re', '_', f.str(ALNUM, 8), '_', f.str(ALNUM, 24))),
  'messagebird-api-key': (f) => env('MESSAGEBIRD_API_KEY', f.str(ALNUM, 25)),
  'mattermost-access-token': (f) => env('MATTERMOST_ACCESS_TOKEN', f.str(LOWER_ALNUM, 26)),
  'zoom-client-secret': (f) => env('ZOOM_CLIENT_SECRET', f.str(ALNUM, 32)),
  // ---- payments
  'stripe-live-secret-key': (f) => inProse(j('sk', '_live_', f.str(ALNUM, 99))),
  'stripe-live-restricted-key': (f) => inProse(j('rk', '_live_', f.str(ALNUM, 99))),
  'stripe-test-secret-key': (f) => inProse(j('sk', '_test_', f.str(ALNUM, 99))),
  'stripe-webhook-secret': (f) => env('STRIPE_WEBHOOK_SECRET', j('wh', 'sec_', f.str(ALNUM, 32))),
  'square-access-token': (f) => inProse(j('EA', 'AA', f.str(B64URL, 60))),
  'square-oauth-access-token': (f) => inProse(j('sq0', 'atp-', f.str(B64URL, 22))),
  'square-oauth-secret': (f) => inProse(j('sq0', 'csp-', f.str(B64URL, 43))),
  'braintree-access-token': (f) => inProse(j('access_token', '$production$', f.str(LOWER_ALNUM, 16), '$', f.str(HEX, 32))),
  'paypal-client-secret': (f) => env('PAYPAL_CLIENT_SECRET', f.str(B64URL, 80)),
  'braintree-private-key': (f) => env('BRAINTREE_PRIVATE_KEY', f.str(HEX, 32)),
  'shopify-access-token': (f) => inProse(j('sh', 'pat_', f.str(HEX, 32))),
  'shopify-custom-app-token': (f) => inProse(j('sh', 'pca_', f.str(HEX, 32))),
  'shopify-private-app-token': (f) => inProse(j('sh', 'ppa_', f.str(HEX, 32))),
  'shopify-shared-secret': (f) => inProse(j('sh', 'pss_', f.str(HEX, 32))),
  'plaid-access-token': (f) => inProse(j('access', '-production-', f.uuid())),
  'plaid-secret': (f) => env('PLAID_SECRET', f.str(HEX, 30)),
  'flutterwave-secret-key': (f) => inProse(j('FLW', 'SECK-', f.str('abcdefgh0123456789', 32), '-X')),
  'razorpay-live-key': (f) => inProse(j('rzp', '_live_', f.str(ALNUM, 14))),
  'razorpay-key-secret': (f) => env('RAZORPAY_KEY_SECRET', f.str(ALNUM, 24)),
  'gocardless-access-token': (f) => env('GOCARDLESS_ACCESS_TOKEN', j('live', '_', f.str(B64URL, 40))),
  'adyen-api-key': (f) => env('ADYEN_API_KEY', j('AQE', f.str(B64, 100))),
  'coinbase-cdp-key-name': (f) => inProse(`organizations/${f.uuid()}/apiKeys/${f.uuid()}`),
  'easypost-api-key': (f) => inProse(j('EZ', 'AK', f.str(HEX, 54))),
  'shippo-live-token': (f) => inProse(j('shippo', '_live_', f.str(HEX, 40))),
  'duffel-api-token': (f) => inProse(j('duffel', '_live_', f.str(B64URL, 43))),
  'lemonsqueezy-api-key': (f) => env('LEMONSQUEEZY_API_KEY', jwtFor(f, { aud: '94d59cef', jti: f.str(HEX, 80), iat: 1700000000, sub: f.digits(6), scopes: [] })),
  // ---- observability
  'datadog-api-key': (f) => env('DD_API_KEY', f.str(HEX, 32)),
  'datadog-app-key': (f) => env('DD_APP_KEY', f.str(HEX, 40)),
  'new-relic-user-api-key': (f) => inProse(j('NR', 'AK-', f.str(UPPER_ALNUM, 27))),
  'new-relic-insert-key': (f) => inProse(j('NR', 'II-', f.str(B64URL, 32))),
  'new-relic-browser-key': (f) => inProse(j('NR', 'JS-', f.str(HEX, 19))),
  'new-relic-license-key': (f) => inProse(j(f.str(HEX, 36), 'NR', 'AL')),
  'sentry-dsn': (f) => {
    const secret = f.str(HEX, 32);
    return { text: `Sentry.init({ dsn: "https://${secret}@o${f.digits(6)}.ingest.sentry.io/${f.digits(7)}" });`, secret };
  },
  'sentry-org-auth-token': (f) => inProse(j('sntry', 's_', 'eyJ', f.str(B64, 100))),
  'sentry-user-auth-token': (f) => inProse(j('sntry', 'u_', f.str(HEX, 64))),
  'grafana-cloud-token': (f) => inProse(j('gl', 'c_', f.str(B64, 60))),
  'grafana-service-account-token': (f) => inProse(j('gl', 'sa_', f.str(ALNUM, 32), '_', f.str(HEX, 8))),
  'dynatrace-api-token': (f) => inProse(j('dt0', 'c01.', f.str(UPPER_ALNUM, 24), '.', f.str(UPPER_ALNUM, 64))),
  'honeycomb-api-key': (f) => env('HONEYCOMB_API_KEY', f.str(ALNUM, 22)),
  'splunk-hec-token': (f) => env('SPLUNK_HEC_TOKEN', f.uuid()),
  'pagerduty-api-key': (f) => env('PAGERDUTY_API_KEY', f.str(ALNUM, 20)),
  'rollbar-access-token': (f) => env('ROLLBAR_ACCESS_TOKEN', f.str(HEX, 32)),
  'bugsnag-api-key': (f) => env('BUGSNAG_API_KEY', f.str(HEX, 32)),
  'sumologic-access-key': (f) => env('SUMO_ACCESS_KEY', f.str(ALNUM, 64)),
  'opsgenie-api-key': (f) => env('OPSGENIE_API_KEY', f.uuid()),
  'logzio-token': (f) => env('LOGZIO_TOKEN', f.str(LETTERS, 32)),
  'algolia-admin-key': (f) => env('ALGOLIA_ADMIN_KEY', f.str(HEX, 32)),
  // ---- SaaS
  'linear-api-key': (f) => inProse(j('lin', '_api_', f.str(ALNUM, 40))),
  'linear-oauth-token': (f) => inProse(j('lin', '_oauth_', f.str(HEX, 64))),
  'notion-integration-token': (f) => inProse(j('nt', 'n_', f.digits(11), f.str(ALNUM, 35))),
  'atlassian-api-token': (f) => inProse(j('ATA', 'TT3', f.str(B64URL, 186))),
  'atlassian-legacy-api-token': (f) => env('JIRA_API_TOKEN', f.str(ALNUM, 24)),
  'okta-api-token': (f) => env('OKTA_API_TOKEN', j('00', f.str(B64URL, 40))),
  'databricks-token': (f) => inProse(j('da', 'pi', f.str(HEX, 32))),
  'auth0-client-secret': (f) => env('AUTH0_CLIENT_SECRET', f.str(B64URL, 64)),
  'airtable-pat': (f) => inProse(j('pa', 't', f.str(ALNUM, 14), '.', f.str(HEX, 64))),
  'asana-pat': (f) => inProse(j('1/', f.digits(16), ':', f.str(ALNUM, 32))),
  'hubspot-private-app-token': (f) => inProse(j('pat', '-na1-', f.uuid())),
  'intercom-access-token': (f) => env('INTERCOM_ACCESS_TOKEN', f.str(B64URL, 60)),
  'zendesk-api-token': (f) => env('ZENDESK_API_TOKEN', f.str(ALNUM, 40)),
  'figma-pat': (f) => inProse(j('fig', 'd_', f.str(B64URL, 40))),
  'contentful-pat': (f) => inProse(j('CF', 'PAT-', f.str(B64URL, 43))),
  'typeform-pat': (f) => inProse(j('tf', 'p_', f.str(B64URL, 59))),
  'dropbox-short-lived-token': (f) => inProse(j('sl', '.', f.str(B64URL, 140))),
  'dropbox-long-lived-token': (f) => env('DROPBOX_ACCESS_TOKEN', j(f.str(ALNUM, 11), 'AAAAAAAAAA', f.str(B64URL, 43))),
  'salesforce-access-token': (f) => inProse(j('00', 'D', f.str(ALNUM, 15), '!', f.str(ALNUM, 100))),
  'facebook-access-token': (f) => inProse(j('EA', 'A', f.str(ALNUM, 180))),
  'twitter-bearer-token': (f) => inProse(j('A'.repeat(22), f.str(ALNUM, 80))),
  'twitter-api-secret': (f) => env('TWITTER_API_SECRET', f.str(ALNUM, 50)),
  'mapbox-secret-token': (f) => inProse(j('sk', '.eyJ', f.str(B64URL, 80), '.', f.str(B64URL, 22))),
  'firebase-cloud-messaging-server-key': (f) => inProse(j('AAAA', f.str(B64URL, 7), ':APA', '91b', f.str(B64URL, 134))),
  'onepassword-service-account-token': (f) => env('OP_SERVICE_ACCOUNT_TOKEN', j('ops', '_eyJ', f.str(B64, 300))),
  'onepassword-secret-key': (f) =>
    inProse(j('A3', '-', f.str(UPPER_ALNUM, 6), '-', f.str(UPPER_ALNUM, 6), '-', f.str(UPPER_ALNUM, 5), '-', f.str(UPPER_ALNUM, 5), '-', f.str(UPPER_ALNUM, 5), '-', f.str(UPPER_ALNUM, 5))),
  'frameio-api-token': (f) => inProse(j('fio', '-u-', f.str(B64URL, 64))),
  'adobe-client-secret': (f) => inProse(j('p8', 'e-', f.str(ALNUM, 32))),
  'scalingo-api-token': (f) => inProse(j('tk', '-us-', f.str(B64URL, 48))),
  'twitch-client-secret': (f) => env('TWITCH_CLIENT_SECRET', f.str(LOWER_ALNUM, 30)),
  'box-api-token': (f) => env('BOX_CLIENT_SECRET', f.str(ALNUM, 32)),
  'beamer-api-key': (f) => env('BEAMER_API_KEY', j('b_', f.str(B64URL, 44))),
  'launchdarkly-access-token': (f) => env('LAUNCHDARKLY_SDK_KEY', j('sdk', '-', f.uuid())),
  'segment-write-key': (f) => env('SEGMENT_WRITE_KEY', f.str(ALNUM, 32)),
  'mixpanel-api-secret': (f) => env('MIXPANEL_API_SECRET', f.str(HEX, 32)),
  'clickup-api-token': (f) => env('CLICKUP_API_TOKEN', j('pk', '_', f.digits(8), '_', f.str(UPPER_ALNUM, 32))),
  'trello-api-token': (f) => env('TRELLO_TOKEN', j('ATTA', f.str(HEX, 64))),
  'monday-api-token': (f) => env('MONDAY_API_TOKEN', jwtFor(f, { tid: Number(f.digits(9)), aai: 11, uid: Number(f.digits(8)), iad: '2024-01-01T00:00:00.000Z' })),
  // ---- key material
  'pem-private-key': (f) => {
    const block = pemBlock(f, j('RSA ', 'PRIVATE', ' KEY'));
    return { text: `Why does ssh reject this key?\n${block}\n`, secret: block };
  },
  'openssh-private-key': (f) => {
    const block = pemBlock(f, j('OPENSSH ', 'PRIVATE', ' KEY'));
    return { text: `~/.ssh/id_ed25519:\n${block}`, secret: block };
  },
  'private-key-truncated': (f) => {
    const head = pemBlock(f, j('RSA ', 'PRIVATE', ' KEY')).split('\n').slice(0, 6).join('\n');
    return { text: `The key starts with\n${head}\n... and then it goes on`, secret: head };
  },
  'pgp-private-key-block': (f) => {
    const block = pemBlock(f, j('PGP ', 'PRIVATE', ' KEY BLOCK'));
    return { text: `gpg --import <<EOF\n${block}\nEOF`, secret: block };
  },
  'putty-private-key': (f) => {
    const secret = `${j('PuTTY', '-User-Key-File-3')}: ssh-ed25519\nEncryption: none\nComment: eddsa-key-20240101\nPublic-Lines: 2\n${f.str(B64, 64)}\n${f.str(B64, 20)}\nPrivate-Lines: 1\n${f.str(B64, 44)}`;
    return { text: `${secret}\nPrivate-MAC: ${f.str(HEX, 64)}`, secret };
  },
  'age-secret-key': (f) => inProse(j('AGE-', 'SECRET-KEY-1', f.str(BECH32, 58))),
  jwt: (f) => ({
    text: `curl -H "X-Session: ${jwtFor(f, { sub: f.digits(8), name: 'Jordan', iat: 1716239022, exp: 1716242622 })}" https://api.acme.io/me`,
    secret: '',
  }),
  'kubeconfig-client-key-data': (f) => ({ text: `users:\n- name: admin\n  user:\n    client-key-data: ${f.str(B64, 400)}=\n`, secret: '' }),
  'kubernetes-service-account-token': (f) => {
    const secret = `${f.str(LOWER_ALNUM, 6)}.${f.str(LOWER_ALNUM, 16)}`;
    return { text: `kubeadm join 10.0.0.1:6443 --token ${secret} --discovery-token-unsafe-skip-ca-verification`, secret };
  },
  // ---- credentials without vendor format
  'postgres-url-password': (f) => dbUrl(f, 'postgres', 'db.prod.acme.io:5432/orders'),
  'mysql-url-password': (f) => dbUrl(f, 'mysql', 'mysql.internal:3306/shop'),
  'mongodb-url-password': (f) => dbUrl(f, 'mongodb+srv', 'cluster0.ab1cd.mongodb.net/app?retryWrites=true'),
  'redis-url-password': (f) => dbUrl(f, 'redis', 'cache.acme.io:6379/0', ''),
  'amqp-url-password': (f) => dbUrl(f, 'amqps', 'mq.acme.io:5671/vhost'),
  'mssql-url-password': (f) => dbUrl(f, 'mssql', 'sql.acme.io:1433/erp'),
  'other-db-url-password': (f) => dbUrl(f, 'clickhouse', 'ch.acme.io:8123/events'),
  'url-basic-auth-password': (f) => dbUrl(f, 'https', 'git.acme.io/platform/infra.git'),
  'jdbc-url-password': (f) => {
    const secret = f.password();
    return { text: `spring.datasource.url=jdbc:postgresql://db:5432/app?user=app&password=${secret}`, secret };
  },
  'connection-string-password': (f) => {
    const secret = f.password();
    return { text: `"Server=tcp:acme.database.windows.net,1433;Database=erp;User ID=erp_admin;Password=${secret};Encrypt=True;"`, secret };
  },
  'password-quoted': (f) => {
    const secret = f.password();
    return { text: `{"host": "smtp.acme.io", "user": "mailer", "password": "${secret}"}`, secret };
  },
  'password-unquoted': (f) => env('SMTP_PASSWORD', f.password()),
  'password-cli-flag': (f) => {
    const secret = f.password();
    return { text: `mysqldump -h db.acme.io -u backup -p${secret} shop > shop.sql`, secret };
  },
  'netrc-password': (f) => {
    const secret = f.password();
    return { text: `machine api.acme.io login deploy password ${secret}`, secret };
  },
  'basic-auth-header': (f) => {
    const secret = f.base64Of(`deploy:${f.password()}`);
    return { text: `curl -H "Authorization: Basic ${secret}" https://ci.acme.io/api/json`, secret };
  },
  'bearer-token': (f) => {
    const secret = f.str(ALNUM, 40);
    return { text: `curl -H "Authorization: Bearer ${secret}" https://api.acme.io/v2/orders`, secret };
  },
  'django-secret-key': (f) => {
    const secret = f.str(LOWER_ALNUM + '!@#%^&*(-_=+)', 50);
    return { text: `# settings.py\nSECRET_KEY = '${secret}'\nDEBUG = False`, secret };
  },
  'rails-secret-key-base': (f) => ({ text: `production:\n  secret_key_base: ${(f.str(HEX, 128))}`, secret: '' }),
  'laravel-app-key': (f) => env('APP_KEY', j('base64:', f.str(B64, 43), '=')),
  'generic-api-key': (f) => {
    const secret = f.str(ALNUM, 32);
    return { text: `const client = new Client({ apiKey: "${secret}", region: "eu" });`, secret };
  },
};

function dbUrl(f: Fake, scheme: string, rest: string, user = 'app_user'): SecretSample {
  const secret = f.password();
  return { text: `DATABASE_URL=${scheme}://${user}:${secret}@${rest}`, secret };
}

/** Fills in `secret` for samples that left it empty: the token after the last `=`, `: ` or quote. */
export function buildSample(ruleId: string, builder: SampleBuilder): SecretSample {
  const sample = builder(new Fake(ruleId));
  if (sample.secret !== '') return sample;
  return { text: sample.text, secret: guessSecret(sample.text) };
}

function guessSecret(text: string): string {
  const tokens = text.match(/[A-Za-z0-9+/=_.~:$!-]{16,}/g) ?? [];
  const longest = tokens.sort((a, b) => b.length - a.length)[0] ?? '';
  return longest.replace(/^[^A-Za-z0-9]+/, '');
}

