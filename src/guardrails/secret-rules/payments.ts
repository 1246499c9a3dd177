/** Payments and commerce: keys that move money or read cardholder and order data. */
import { defineRule, keyedRule, prefixedRule, END, type SecretRule } from './rule.js';

export const paymentRules: SecretRule[] = [
  prefixedRule('stripe-live-secret-key', 'Stripe live secret key', 'sk_live_', '[A-Za-z0-9]{24,247}', { end: END, confidence: 0.99 }),
  prefixedRule('stripe-live-restricted-key', 'Stripe live restricted key', 'rk_live_', '[A-Za-z0-9]{24,247}', { end: END, confidence: 0.99 }),
  prefixedRule('stripe-test-secret-key', 'Stripe test-mode secret key (still grants API access to the account)', '[sr]k_test_', '[A-Za-z0-9]{24,247}', {
    keywords: ['sk_test_', 'rk_test_'],
    end: END,
    confidence: 0.8,
    minEntropy: 4,
  }),
  prefixedRule('stripe-webhook-secret', 'Stripe webhook signing secret', 'whsec_', '[A-Za-z0-9+/]{32,64}', { end: END, minEntropy: 4 }),
  prefixedRule('square-access-token', 'Square production access token', 'EAAA', '[A-Za-z0-9_-]{60}', {
    keywords: ['eaaa'],
    minEntropy: 4,
  }),
  prefixedRule('square-oauth-access-token', 'Square OAuth access token (sq0atp-)', 'sq0atp-', '[0-9A-Za-z_-]{22}'),
  prefixedRule('square-oauth-secret', 'Square OAuth application secret (sq0csp-)', 'sq0csp-', '[0-9A-Za-z_-]{43}'),
  defineRule(
    'braintree-access-token',
    'PayPal Braintree production access token',
    ['access_token$production$'],
    `access_token\\$production\\$[0-9a-z]{16}\\$[0-9a-f]{32}`,
    { confidence: 0.99 },
  ),
  keyedRule('paypal-client-secret', 'PayPal REST client secret', ['paypal'], 'paypal[\\w.-]{0,20}?(?:client[_-]?)?secret', '[A-Za-z0-9_-]{60,90}', {
    minEntropy: 4,
  }),
  keyedRule('braintree-private-key', 'Braintree private API key', ['braintree'], 'braintree[\\w.-]{0,20}?private[_-]?key', '[a-f0-9]{32}', {
    minEntropy: 3,
  }),
  prefixedRule('shopify-access-token', 'Shopify Admin API access token', 'shpat_', '[a-fA-F0-9]{32}', { end: END }),
  prefixedRule('shopify-custom-app-token', 'Shopify custom app access token', 'shpca_', '[a-fA-F0-9]{32}', { end: END }),
  prefixedRule('shopify-private-app-token', 'Shopify private app password', 'shppa_', '[a-fA-F0-9]{32}', { end: END }),
  prefixedRule('shopify-shared-secret', 'Shopify app shared secret', 'shpss_', '[a-fA-F0-9]{32}', { end: END }),
  prefixedRule('plaid-access-token', 'Plaid access token', 'access-(?:sandbox|development|production)-', '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', {
    keywords: ['access-production-', 'access-development-', 'access-sandbox-'],
  }),
  keyedRule('plaid-secret', 'Plaid client secret', ['plaid'], 'plaid[\\w.-]{0,20}?secret', '[a-f0-9]{30}', { minEntropy: 3 }),
  prefixedRule('flutterwave-secret-key', 'Flutterwave secret key', 'FLWSECK(?:_TEST)?-', '[a-h0-9]{32}-X', {
    keywords: ['flwseck'],
    end: END,
  }),
  prefixedRule('razorpay-live-key', 'Razorpay live key id', 'rzp_live_', '[A-Za-z0-9]{14}', { end: END }),
  keyedRule('razorpay-key-secret', 'Razorpay key secret', ['razorpay'], 'razorpay[\\w.-]{0,20}?secret', '[A-Za-z0-9]{24}', { minEntropy: 3.5 }),
  keyedRule('gocardless-access-token', 'GoCardless live access token', ['gocardless'], 'gocardless[\\w.-]{0,20}?(?:access[_-]?)?token', 'live_[A-Za-z0-9_=-]{40}', {}),
  keyedRule('adyen-api-key', 'Adyen API key', ['adyen'], 'adyen[\\w.-]{0,20}?(?:api[_-]?)?key', 'AQE[A-Za-z0-9+/=_-]{60,300}', { minEntropy: 4 }),
  prefixedRule('coinbase-cdp-key-name', 'Coinbase Developer Platform API key', 'organizations/[0-9a-f-]{36}/apiKeys/', '[0-9a-f-]{36}', {
    keywords: ['/apikeys/'],
    confidence: 0.85,
  }),
  prefixedRule('easypost-api-key', 'EasyPost production API key', 'EZAK', '[a-f0-9]{54}', { keywords: ['ezak'], end: END }),
  prefixedRule('shippo-live-token', 'Shippo live API token', 'shippo_live_', '[a-f0-9]{40}', { end: END }),
  prefixedRule('duffel-api-token', 'Duffel API token', 'duffel_(?:test|live)_', '[A-Za-z0-9_=-]{43}', { keywords: ['duffel_'] }),
  defineRule(
    'lemonsqueezy-api-key',
    'Lemon Squeezy API key (JWT assigned to a lemonsqueezy name)',
    ['lemonsqueezy', 'lemon_squeezy'],
    `lemon[_-]?squeezy[\\w.-]{0,20}?(?:api[_-]?)?key["']?\\s{0,4}[:=]\\s{0,4}["']?(?<secret>eyJ[A-Za-z0-9_-]{10,2000}\\.[A-Za-z0-9_-]{20,2000}\\.[A-Za-z0-9_-]{20,2000})`,
    { confidence: 0.9, flags: 'i' },
  ),
];
