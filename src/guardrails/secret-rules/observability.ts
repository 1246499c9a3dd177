/** Monitoring, logging and error tracking: keys that ingest into or read from an organization's telemetry. */
import { defineRule, keyedRule, prefixedRule, START, END, UUID, type SecretRule } from './rule.js';

export const observabilityRules: SecretRule[] = [
  keyedRule('datadog-api-key', 'Datadog API key', ['api_key'], '(?:datadog|dd)[\\w.-]{0,20}?api[_-]?key', '[a-f0-9]{32}', {
    minEntropy: 3,
  }),
  keyedRule('datadog-app-key', 'Datadog application key', ['app_key', 'application_key'], '(?:datadog|dd)[\\w.-]{0,20}?app(?:lication)?[_-]?key', '[a-f0-9]{40}', {
    minEntropy: 3,
  }),
  prefixedRule('new-relic-user-api-key', 'New Relic user API key', 'NRAK-', '[A-Z0-9]{27}', { keywords: ['nrak-'], end: END }),
  prefixedRule('new-relic-insert-key', 'New Relic insights insert key', 'NRII-', '[A-Za-z0-9_-]{32}', { keywords: ['nrii-'] }),
  prefixedRule('new-relic-browser-key', 'New Relic browser API token', 'NRJS-', '[a-f0-9]{19}', { keywords: ['nrjs-'], end: END }),
  defineRule(
    'new-relic-license-key',
    'New Relic ingest license key',
    ['nral'],
    `${START}[a-f0-9]{36}NRAL${END}`,
    { confidence: 0.95 },
  ),
  defineRule(
    'sentry-dsn',
    'Sentry DSN (its public key lets anyone post events to the project)',
    ['sentry.io', 'sentry'],
    'https://(?<secret>[a-f0-9]{32})(?::[a-f0-9]{32})?@[a-z0-9.-]{1,100}(?:sentry\\.io|sentry)[a-z0-9.-]{0,60}/\\d{1,12}',
    { confidence: 0.9 },
  ),
  prefixedRule('sentry-org-auth-token', 'Sentry organization auth token', 'sntrys_', 'eyJ[A-Za-z0-9+/=_]{60,400}', { keywords: ['sntrys_'] }),
  prefixedRule('sentry-user-auth-token', 'Sentry user auth token', 'sntryu_', '[a-f0-9]{64}', { end: END }),
  prefixedRule('grafana-cloud-token', 'Grafana Cloud API token', 'glc_', '[A-Za-z0-9+/]{32,400}={0,2}', { minEntropy: 4 }),
  prefixedRule('grafana-service-account-token', 'Grafana service account token', 'glsa_', '[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}', { end: END }),
  defineRule(
    'dynatrace-api-token',
    'Dynatrace API token',
    ['dt0c01.'],
    `${START}dt0c01\\.[A-Z0-9]{24}\\.[A-Z0-9]{64}${END}`,
    { confidence: 0.97 },
  ),
  keyedRule('honeycomb-api-key', 'Honeycomb API key', ['honeycomb'], 'honeycomb[\\w.-]{0,20}?(?:api[_-]?|write[_-]?)?key', '[A-Za-z0-9]{22}|hc[a-z]{2}[a-z]{2}_[a-z0-9]{58}', {
    minEntropy: 3.5,
  }),
  keyedRule('splunk-hec-token', 'Splunk HTTP Event Collector token', ['splunk'], 'splunk[\\w.-]{0,20}?(?:hec[_-]?)?token', UUID, {}),
  keyedRule('pagerduty-api-key', 'PagerDuty API key', ['pagerduty'], 'pagerduty[\\w.-]{0,20}?(?:api[_-]?|integration[_-]?)?(?:key|token)', '[A-Za-z0-9_+-]{20}|[a-f0-9]{32}', {
    minEntropy: 3.5,
  }),
  keyedRule('rollbar-access-token', 'Rollbar access token', ['rollbar'], 'rollbar[\\w.-]{0,20}?(?:access[_-]?)?token', '[a-f0-9]{32}', { minEntropy: 3 }),
  keyedRule('bugsnag-api-key', 'Bugsnag API key', ['bugsnag'], 'bugsnag[\\w.-]{0,20}?(?:api[_-]?)?key', '[a-f0-9]{32}', { minEntropy: 3 }),
  keyedRule('sumologic-access-key', 'Sumo Logic access key', ['sumo'], 'sumo(?:logic)?[\\w.-]{0,20}?(?:access[_-]?)?key', '[A-Za-z0-9]{64}', { minEntropy: 4 }),
  keyedRule('opsgenie-api-key', 'Opsgenie API key', ['opsgenie'], 'opsgenie[\\w.-]{0,20}?(?:api[_-]?)?key', UUID, {}),
  keyedRule('logzio-token', 'Logz.io shipping / API token', ['logz'], 'logz(?:io|\\.io)?[\\w.-]{0,20}?token', '[A-Za-z]{32}|' + UUID, {
    minEntropy: 3.5,
  }),
  keyedRule('algolia-admin-key', 'Algolia admin API key', ['algolia'], 'algolia[\\w.-]{0,20}?(?:admin|api|write)[_-]?key', '[a-f0-9]{32}', {
    minEntropy: 3,
  }),
];
