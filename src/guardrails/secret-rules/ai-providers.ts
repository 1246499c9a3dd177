/** AI model providers: the credentials most likely to be pasted into a prompt on an AI-governed laptop. */
import { defineRule, keyedRule, prefixedRule, START, END, END_DASH, UUID, type SecretRule } from './rule.js';

export const aiProviderRules: SecretRule[] = [
  prefixedRule('openai-project-key', 'OpenAI project API key', 'sk-proj-', '[A-Za-z0-9_-]{40,250}', { minEntropy: 4 }),
  prefixedRule('openai-service-account-key', 'OpenAI service-account API key', 'sk-svcacct-', '[A-Za-z0-9_-]{40,250}', {
    minEntropy: 4,
  }),
  prefixedRule('openai-admin-key', 'OpenAI admin API key', 'sk-admin-', '[A-Za-z0-9_-]{40,250}', { minEntropy: 4 }),
  defineRule(
    'openai-legacy-key',
    'OpenAI user API key (legacy sk- form, with or without the T3BlbkFJ marker)',
    ['sk-'],
    `${START}sk-(?:[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}|[A-Za-z0-9]{48})${END_DASH}`,
    { confidence: 0.9, minEntropy: 4 },
  ),
  prefixedRule('anthropic-api-key', 'Anthropic API key', 'sk-ant-api\\d{2}-', '[A-Za-z0-9_-]{80,120}', {
    keywords: ['sk-ant-api'],
    confidence: 0.99,
    minEntropy: 4,
  }),
  prefixedRule('anthropic-admin-key', 'Anthropic admin API key', 'sk-ant-admin\\d{2}-', '[A-Za-z0-9_-]{80,120}', {
    keywords: ['sk-ant-admin'],
    confidence: 0.99,
    minEntropy: 4,
  }),
  prefixedRule('anthropic-oauth-token', 'Anthropic (Claude Code) OAuth token', 'sk-ant-o(?:at|rt)\\d{2}-', '[A-Za-z0-9_-]{80,120}', {
    keywords: ['sk-ant-oat', 'sk-ant-ort'],
    confidence: 0.99,
    minEntropy: 4,
  }),
  prefixedRule('bifrost-virtual-key', 'Bifrost virtual key', 'sk-bf-', '[A-Za-z0-9_-]{16,128}', { minEntropy: 3 }),
  prefixedRule('groq-api-key', 'Groq API key', 'gsk_', '[A-Za-z0-9]{52}', { end: END, minEntropy: 4 }),
  prefixedRule('huggingface-access-token', 'Hugging Face user access token', 'hf_', '[A-Za-z0-9]{34,40}', {
    end: END,
    minEntropy: 3.8,
  }),
  prefixedRule('huggingface-org-token', 'Hugging Face organization API token', 'api_org_', '[A-Za-z0-9]{34}', {
    end: END,
    minEntropy: 3.8,
  }),
  prefixedRule('xai-api-key', 'xAI (Grok) API key', 'xai-', '[A-Za-z0-9]{80}', { end: END, minEntropy: 4 }),
  prefixedRule('perplexity-api-key', 'Perplexity API key', 'pplx-', '[A-Za-z0-9]{48}', { end: END, minEntropy: 4 }),
  prefixedRule('openrouter-api-key', 'OpenRouter API key', 'sk-or-v1-', '[a-f0-9]{64}', { end: END, minEntropy: 3 }),
  prefixedRule('replicate-api-token', 'Replicate API token', 'r8_', '[A-Za-z0-9]{37}', { end: END, minEntropy: 3.8 }),
  prefixedRule('langsmith-api-key', 'LangSmith personal / service key', 'lsv2_(?:pt|sk)_', '[a-f0-9]{32}_[a-f0-9]{10}', {
    keywords: ['lsv2_'],
    end: END,
  }),
  prefixedRule('pinecone-api-key', 'Pinecone API key', 'pcsk_', '[A-Za-z0-9]{4,10}_[A-Za-z0-9]{40,80}', { end: END }),
  defineRule(
    'elevenlabs-api-key',
    'ElevenLabs API key',
    ['sk_'],
    `${START}sk_[a-f0-9]{48}${END}`,
    { confidence: 0.85, minEntropy: 3 },
  ),
  keyedRule('deepseek-api-key', 'DeepSeek API key', ['deepseek'], 'deepseek[\\w.-]{0,20}?(?:api[_-]?)?key', 'sk-[a-f0-9]{32}', {
    confidence: 0.95,
  }),
  keyedRule('mistral-api-key', 'Mistral AI API key', ['mistral'], 'mistral[\\w.-]{0,20}?(?:api[_-]?)?key', '[A-Za-z0-9]{32}', {
    minEntropy: 3.8,
  }),
  keyedRule('cohere-api-key', 'Cohere API key', ['cohere', 'co_api'], '(?:cohere|co)[\\w.-]{0,20}?(?:api[_-]?)?key', '[A-Za-z0-9]{40}', {
    minEntropy: 3.8,
  }),
  keyedRule('together-api-key', 'Together AI API key', ['together'], 'together[\\w.-]{0,20}?(?:api[_-]?)?key', '(?:tgp_v1_)?[A-Za-z0-9_-]{40,64}', {
    minEntropy: 3.5,
  }),
  keyedRule('fireworks-api-key', 'Fireworks AI API key', ['fireworks'], 'fireworks[\\w.-]{0,20}?(?:api[_-]?)?key', '(?:fw_)?[A-Za-z0-9]{24,48}', {
    minEntropy: 3.5,
  }),
  keyedRule('wandb-api-key', 'Weights & Biases API key', ['wandb'], 'wandb[\\w.-]{0,20}?(?:api[_-]?)?key', '[a-f0-9]{40}', {
    minEntropy: 3,
  }),
  keyedRule('assemblyai-api-key', 'AssemblyAI API key', ['assemblyai', 'assembly_ai'], 'assembly[_-]?ai[\\w.-]{0,20}?(?:api[_-]?)?key', '[a-f0-9]{32}', {
    minEntropy: 3,
  }),
  keyedRule('pinecone-legacy-api-key', 'Pinecone API key (legacy UUID form)', ['pinecone'], 'pinecone[\\w.-]{0,20}?(?:api[_-]?)?key', UUID, {}),
];
