/**
 * Credentials without a vendor format: passwords in connection URLs and config lines, bearer / basic auth
 * headers, and high-entropy values assigned to key/token/secret names. These rely on context and entropy,
 * so they score lower and yield to any vendor rule that matches the same span.
 */
import { defineRule, START, type SecretRule } from './rule.js';
import { isPlausibleGenericToken, isPlausiblePassword, isPlausibleSecretValue } from './credential-values.js';

/**
 * `scheme://user:password@host`: the password is the finding, user and host stay readable.
 * The user part excludes `:` `@` `/` so each URL is parsed one way only.
 */
function connectionUrlRule(id: string, description: string, scheme: string, keywords: string[]): SecretRule {
  return defineRule(
    id,
    description,
    keywords,
    `(?<![A-Za-z0-9+.-])(?:${scheme})://[^\\s:@/?#'"]{0,64}:(?<secret>[^\\s@/?#'"]{1,128})@[A-Za-z0-9_.\\[\\]-]{1,255}`,
    { confidence: 0.95, validate: isPlausibleSecretValue, flags: 'i' },
  );
}

/** Names under which people keep passwords in env files, YAML, JSON, INI and code. */
const PASSWORD_NAME = '(?<![A-Za-z0-9])(?:[A-Za-z0-9]{1,30}[_.-])?(?:password|passwd|passwort|passphrase|pwd|pass)';

export const credentialRules: SecretRule[] = [
  connectionUrlRule('postgres-url-password', 'Password in a PostgreSQL connection URL', 'postgres(?:ql)?(?:\\+\\w{1,20})?|postgis|pgsql', ['postgres', 'pgsql', 'postgis']),
  connectionUrlRule('mysql-url-password', 'Password in a MySQL / MariaDB connection URL', '(?:mysql|mariadb)(?:\\+\\w{1,20})?', ['mysql', 'mariadb']),
  connectionUrlRule('mongodb-url-password', 'Password in a MongoDB connection URL', 'mongodb(?:\\+srv)?', ['mongodb']),
  connectionUrlRule('redis-url-password', 'Password in a Redis connection URL', 'rediss?', ['redis']),
  connectionUrlRule('amqp-url-password', 'Password in an AMQP (RabbitMQ) connection URL', 'amqps?', ['amqp']),
  connectionUrlRule('mssql-url-password', 'Password in a SQL Server connection URL', 'mssql|sqlserver', ['mssql', 'sqlserver']),
  connectionUrlRule('other-db-url-password', 'Password in a database / broker URL (CockroachDB, ClickHouse, Snowflake, Kafka, Neo4j, ...)', 'cockroachdb|clickhouse|snowflake|oracle|db2|couchdb|neo4j(?:\\+s)?|bolt|kafka|nats|memcached|cassandra|elasticsearch|influxdb', [
    'cockroachdb', 'clickhouse', 'snowflake', 'oracle', 'db2', 'couchdb', 'neo4j', 'bolt', 'kafka', 'nats', 'memcached', 'cassandra', 'elasticsearch', 'influxdb',
  ]),
  connectionUrlRule('url-basic-auth-password', 'Password embedded in an HTTP / FTP / SMTP / LDAP URL', 'https?|s?ftp|smtps?|imaps?|ldaps?|git|ssh|svn', ['://']),
  defineRule(
    'jdbc-url-password',
    'Password parameter in a JDBC / ODBC connection string',
    ['jdbc', 'odbc'],
    '(?:jdbc|odbc):[a-z0-9]{2,20}:[^\\s]{1,200}?[?&;](?:password|pwd)=(?<secret>[^&;\\s"\']{3,128})',
    { confidence: 0.9, validate: isPlausibleSecretValue, flags: 'i' },
  ),
  defineRule(
    'connection-string-password',
    'Password in an ADO.NET / ODBC style connection string (Server=...;Password=...)',
    ['password=', 'pwd='],
    '(?:Server|Data Source|Host|Uid|User ID|User|Username)=[^;\\n]{1,100};(?:[^;\\n]{1,100};){0,6}?\\s?(?:Password|Pwd)=(?<secret>[^;\\n"\']{3,128})',
    { confidence: 0.9, validate: isPlausibleSecretValue, flags: 'i' },
  ),
  defineRule(
    'password-quoted',
    'Quoted password value in a config line or JSON (password: "…", "password": "…")',
    ['pass', 'pwd'],
    `${PASSWORD_NAME}["']?\\s{0,4}(?:=|:|=>|:=)\\s{0,4}(?<q>["'\`])(?<secret>[^"'\`\\n]{6,128})\\k<q>`,
    { confidence: 0.75, validate: isPlausiblePassword, flags: 'i' },
  ),
  defineRule(
    'password-unquoted',
    'Unquoted password value in an env file, INI or YAML line (DB_PASSWORD=…)',
    ['pass', 'pwd'],
    `${PASSWORD_NAME}\\s{0,4}(?:=|:)[ \\t]{0,4}(?<secret>[^\\s"'\`,;]{6,128})(?=$|[\\s,;])`,
    { confidence: 0.7, validate: isPlausiblePassword, flags: 'im' },
  ),
  defineRule(
    'password-cli-flag',
    'Password passed on a command line (--password=…, mysql -p…)',
    ['--password', '--pass', 'mysql', 'sshpass'],
    '(?:--password[= ]|--pass[= ]|sshpass -p |\\bmysql(?:dump)?\\b[^\\n]{0,80}?\\s-p)(?<secret>[^\\s"\'-][^\\s"\']{5,127})',
    { confidence: 0.8, validate: isPlausibleSecretValue },
  ),
  defineRule(
    'netrc-password',
    '.netrc machine entry password',
    ['machine'],
    '\\bmachine\\s+\\S{1,255}\\s+login\\s+\\S{1,255}\\s+password\\s+(?<secret>\\S{3,128})',
    { confidence: 0.9, validate: isPlausibleSecretValue },
  ),
  defineRule(
    'basic-auth-header',
    'HTTP Basic Authorization header with encoded credentials',
    ['authorization'],
    '\\bAuthorization["\']?\\s{0,4}[:=]\\s{0,4}["\']?Basic\\s{1,4}(?<secret>[A-Za-z0-9+/]{8,512}={0,2})(?![A-Za-z0-9+/=])',
    { confidence: 0.9, validate: decodesToUserColonPassword, flags: 'i' },
  ),
  defineRule(
    'bearer-token',
    'Bearer token in an Authorization header or curl command',
    ['bearer'],
    '\\bBearer\\s{1,4}(?<secret>[A-Za-z0-9_~+/.-]{20,4096}={0,2})(?![A-Za-z0-9_~+/.=-])',
    { confidence: 0.75, minEntropy: 3.5, validate: isPlausibleGenericToken, flags: 'i' },
  ),
  defineRule(
    'django-secret-key',
    'Django SECRET_KEY',
    ['secret_key'],
    `\\bSECRET_KEY\\s{0,4}=\\s{0,4}(?<q>["'])(?<secret>[^"'\\s]{40,100})\\k<q>`,
    { confidence: 0.85, minEntropy: 4 },
  ),
  defineRule(
    'rails-secret-key-base',
    'Rails secret_key_base',
    ['secret_key_base'],
    `secret_key_base["']?\\s{0,4}[:=]\\s{0,4}["']?(?<secret>[a-f0-9]{64,256})(?![A-Za-z0-9])`,
    { confidence: 0.9, minEntropy: 3 },
  ),
  defineRule(
    'laravel-app-key',
    'Laravel APP_KEY',
    ['app_key'],
    `APP_KEY\\s{0,4}=\\s{0,4}["']?(?<secret>base64:[A-Za-z0-9+/]{43}=)`,
    { confidence: 0.95 },
  ),
  defineRule(
    'generic-api-key',
    'High-entropy value assigned to an api key / token / secret name',
    ['key', 'token', 'secret', 'auth', 'credential'],
    `${START}(?:[A-Za-z0-9]{1,30}[_.-])?(?:api[_.-]?key|apikey|api[_.-]?secret|access[_.-]?key(?:[_.-]?id)?|secret[_.-]?key|client[_.-]?secret|app[_.-]?secret|consumer[_.-]?secret|auth[_.-]?token|access[_.-]?token|refresh[_.-]?token|private[_.-]?token|api[_.-]?token|bearer[_.-]?token|session[_.-]?token|credentials?|secret|token|x-api-key)["']?\\s{0,4}(?:=|:|=>|:=)\\s{0,4}["'\`]?(?=(?<secret>[A-Za-z0-9_~+/.=-]{16,256}))\\k<secret>(?![A-Za-z0-9_~+/.=-])`,
    { confidence: 0.6, minEntropy: 3.5, validate: isPlausibleGenericToken, flags: 'i' },
  ),
];

/** `Basic dXNlcjpwYXNz` must decode to printable `user:password`, or it is just a word after "Basic". */
function decodesToUserColonPassword(encoded: string): boolean {
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0 || colon === decoded.length - 1 || !/^[\x20-\x7e]+$/.test(decoded)) return false;
  return isPlausibleSecretValue(decoded.slice(colon + 1));
}
