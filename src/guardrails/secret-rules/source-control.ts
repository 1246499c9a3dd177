/** Source hosting, CI and package registries: tokens that grant push, publish or pipeline access. */
import { defineRule, keyedRule, prefixedRule, START, END, type SecretRule } from './rule.js';

export const sourceControlRules: SecretRule[] = [
  prefixedRule('github-pat', 'GitHub personal access token (classic)', 'ghp_', '[A-Za-z0-9]{36}', { end: END, minEntropy: 3.8 }),
  prefixedRule('github-oauth-token', 'GitHub OAuth access token', 'gho_', '[A-Za-z0-9]{36}', { end: END, minEntropy: 3.8 }),
  prefixedRule('github-user-to-server-token', 'GitHub App user-to-server token', 'ghu_', '[A-Za-z0-9]{36}', { end: END, minEntropy: 3.8 }),
  prefixedRule('github-server-to-server-token', 'GitHub App installation (server-to-server) token', 'ghs_', '[A-Za-z0-9]{36}', {
    end: END,
    minEntropy: 3.8,
  }),
  prefixedRule('github-refresh-token', 'GitHub App refresh token', 'ghr_', '[A-Za-z0-9]{36,76}', { end: END, minEntropy: 3.8 }),
  prefixedRule('github-fine-grained-pat', 'GitHub fine-grained personal access token', 'github_pat_', '[A-Za-z0-9]{22}_[A-Za-z0-9]{59}', {
    end: END,
    minEntropy: 4,
  }),
  prefixedRule('gitlab-pat', 'GitLab personal / project / group access token', 'glpat-', '[A-Za-z0-9_.-]{20,64}', { minEntropy: 3.5 }),
  prefixedRule('gitlab-pipeline-trigger-token', 'GitLab pipeline trigger token', 'glptt-', '[a-f0-9]{40}', { end: END }),
  prefixedRule('gitlab-runner-registration-token', 'GitLab runner registration token', 'GR1348941', '[A-Za-z0-9_-]{20}', {
    keywords: ['gr1348941'],
  }),
  prefixedRule('gitlab-runner-auth-token', 'GitLab runner authentication token', 'glrt-', '[A-Za-z0-9_.-]{20,64}'),
  prefixedRule('gitlab-deploy-token', 'GitLab deploy token', 'gldt-', '[A-Za-z0-9_-]{20,64}'),
  prefixedRule('gitlab-feed-token', 'GitLab feed token', 'glft-', '[A-Za-z0-9_-]{20,64}'),
  prefixedRule('gitlab-oauth-app-secret', 'GitLab OAuth application secret', 'gloas-', '[a-f0-9]{64}', { end: END }),
  prefixedRule('gitlab-ci-job-token', 'GitLab CI/CD job token', 'glcbt-', '[A-Za-z0-9_]{1,5}_[A-Za-z0-9_-]{20,64}'),
  prefixedRule('gitlab-agent-token', 'GitLab agent for Kubernetes token', 'glagent-', '[A-Za-z0-9_-]{50,64}'),
  prefixedRule('bitbucket-app-password', 'Bitbucket / Atlassian app password', 'ATBB', '[A-Za-z0-9_=.-]{32}', {
    keywords: ['atbb'],
    minEntropy: 3.8,
  }),
  prefixedRule('npm-access-token', 'npm access token', 'npm_', '[A-Za-z0-9]{36}', { end: END, minEntropy: 3.8 }),
  defineRule(
    'npm-legacy-auth-token',
    'npm legacy _authToken in .npmrc',
    ['_authtoken'],
    '_authToken\\s*=\\s*(?<secret>[A-Za-z0-9_-]{36,64}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})',
    { confidence: 0.9, minEntropy: 3.5 },
  ),
  prefixedRule('pypi-upload-token', 'PyPI API token', 'pypi-AgEIcHlwaS5vcmc', '[A-Za-z0-9_-]{50,300}', {
    keywords: ['pypi-ageichlwas5vcmc'],
    confidence: 0.99,
  }),
  prefixedRule('rubygems-api-key', 'RubyGems API key', 'rubygems_', '[a-f0-9]{48}', { end: END }),
  prefixedRule('nuget-api-key', 'NuGet API key', 'oy2', '[a-z0-9]{43}', { end: END, minEntropy: 3.8, confidence: 0.85 }),
  prefixedRule('docker-hub-pat', 'Docker Hub personal access token', 'dckr_pat_', '[A-Za-z0-9_-]{27,64}', { minEntropy: 3.5 }),
  prefixedRule('docker-hub-org-token', 'Docker Hub organization access token', 'dckr_oat_', '[A-Za-z0-9_-]{27,64}', { minEntropy: 3.5 }),
  prefixedRule('jfrog-api-key', 'JFrog Artifactory API key', 'AKCp', '[A-Za-z0-9]{69}', { keywords: ['akcp'], end: END }),
  prefixedRule('jfrog-identity-token', 'JFrog Artifactory identity / reference token', 'cmVmdGtuOjAxOj', '[A-Za-z0-9]{40,64}', {
    keywords: ['cmvmdgtuojaxoj'],
    end: END,
  }),
  prefixedRule('sonarqube-token', 'SonarQube / SonarCloud token', 'sq[pua]_', '[a-f0-9]{40}', { keywords: ['sqp_', 'squ_', 'sqa_'], end: END }),
  prefixedRule('circleci-pat', 'CircleCI personal API token', 'CCIPAT_', '[A-Za-z0-9]{22}_[a-f0-9]{40}', { keywords: ['ccipat_'], end: END }),
  prefixedRule('buildkite-api-token', 'Buildkite API access token', 'bkua_', '[a-f0-9]{40}', { end: END }),
  keyedRule('travis-ci-token', 'Travis CI API token', ['travis'], 'travis[\\w.-]{0,20}?(?:api[_-]?)?token', '[A-Za-z0-9_-]{22}', {
    minEntropy: 3.5,
  }),
  keyedRule('snyk-api-token', 'Snyk API token', ['snyk'], 'snyk[\\w.-]{0,20}?(?:api[_-]?)?(?:key|token)', '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', {}),
  keyedRule('codecov-token', 'Codecov upload token', ['codecov'], 'codecov[\\w.-]{0,20}?token', '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', {}),
  prefixedRule('prefect-api-key', 'Prefect Cloud API key', 'pnu_', '[A-Za-z0-9]{36}', { end: END }),
  prefixedRule('terraform-cloud-token', 'Terraform Cloud / HCP Terraform API token', '[A-Za-z0-9]{14}\\.atlasv1\\.', '[A-Za-z0-9_=-]{60,70}', {
    keywords: ['.atlasv1.'],
  }),
  prefixedRule('pulumi-access-token', 'Pulumi access token', 'pul-', '[a-f0-9]{40}', { end: END }),
  prefixedRule('vault-service-token', 'HashiCorp Vault service token', 'hvs\\.', '[A-Za-z0-9_-]{90,200}', {
    keywords: ['hvs.'],
    minEntropy: 4,
  }),
  prefixedRule('vault-batch-token', 'HashiCorp Vault batch token', 'hvb\\.', '[A-Za-z0-9_-]{90,300}', {
    keywords: ['hvb.'],
    minEntropy: 4,
  }),
  keyedRule('vault-legacy-token', 'HashiCorp Vault token (legacy s. form)', ['vault'], 'vault[\\w.-]{0,20}?token', 's\\.[A-Za-z0-9]{24}', {}),
  defineRule(
    'doppler-token',
    'Doppler service / personal / CLI / SCIM / audit token',
    ['dp.pt.', 'dp.st.', 'dp.sa.', 'dp.ct.', 'dp.scim.', 'dp.audit.'],
    `${START}dp\\.(?:pt|st|sa|ct|scim|audit)\\.[A-Za-z0-9]{40,44}${END}`,
    { confidence: 0.95 },
  ),
  prefixedRule('infracost-api-key', 'Infracost API key', 'ico-', '[A-Za-z0-9]{32}', { end: END, minEntropy: 3.8 }),
  prefixedRule('readme-api-key', 'ReadMe API key', 'rdme_', '[a-z0-9]{70}', { end: END }),
  prefixedRule('postman-api-key', 'Postman API key', 'PMAK-', '[a-f0-9]{24}-[a-f0-9]{34}', { keywords: ['pmak-'], end: END }),
  prefixedRule('octopus-deploy-api-key', 'Octopus Deploy API key', 'API-', '[A-Z0-9]{26}', {
    keywords: ['octopus'],
    end: END,
    confidence: 0.85,
    minEntropy: 3.5,
  }),
];
