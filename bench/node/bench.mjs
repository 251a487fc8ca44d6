// bench.mjs: the Node.js peers of dbont-bench, W1-W4 through one tool.
//
//   node bench.mjs --tool knex|drizzle|pg [--rounds N] [--w1 N] [--w2 N]
//                  [--w3 N] [--w4 N] [--out FILE]
//
// Connects with PGHOST/PGPORT/PGUSER/PGDATABASE (or DATABASE_URL), to the
// data dbont-bench loaded, and runs the workloads with the same inputs as
// the C program (the formulas of bench/src/bm.h), each the tool's idiomatic
// way, on one connection.  Writes "result WORKLOAD TOOL UNIT MEDIAN MIN MAX
// ROUNDS" lines to FILE for `dbont-bench report`.  Rows added by W3 and W4
// are deleted after each run by a second, otherwise idle, connection.
import { writeFileSync } from 'node:fs';
import pg from 'pg';
import knexFactory from 'knex';
import { drizzle } from 'drizzle-orm/node-postgres';
import { pgTable, bigserial, bigint, text, boolean, timestamp } from 'drizzle-orm/pg-core';
import { eq, desc, sql, between, count } from 'drizzle-orm';

// ---- options ---------------------------------------------------------------
const opts = { tool: '', rounds: 5, w1: 5000, w2: 200, w3: 2000, w4: 100000, out: '' };
for (let i = 2; i < process.argv.length; i += 2) {
  const key = process.argv[i].replace(/^--/, '');
  const value = process.argv[i + 1];
  if (!(key in opts) || value === undefined) {
    console.error(`bench.mjs: unknown option ${process.argv[i]}`);
    process.exit(2);
  }
  opts[key] = key === 'tool' || key === 'out' ? value : Number(value);
}
if (!['knex', 'drizzle', 'pg'].includes(opts.tool)) {
  console.error('bench.mjs: --tool knex|drizzle|pg');
  process.exit(2);
}

// ---- inputs: the formulas of bench/src/bm.h ------------------------------------
const ORGS = 100, W2_WINDOW = 100, W2_MIN_POSTS = 5;
const userOrg = (u) => ((u - 1) % ORGS) + 1;
const w1User = (i, n) => 1 + ((i * 48271 + 12345) % n);
const w2First = (i, n) => 1 + ((i * 7919) % (n - W2_WINDOW + 1));
const insertUser = (i, salt, n) => 1 + ((i * 48271 + salt) % n);
const email = (u) => `user${u}@example.com`;

function makePosts(n, salt, prefix, nusers) {
  const posts = new Array(n);
  for (let i = 0; i < n; i++) {
    const u = insertUser(i, salt, nusers);
    posts[i] = {
      organization_id: userOrg(u),
      user_id: u,
      title: `${prefix} post ${i} by user ${u}`,
      content:
        i % 10 === 9
          ? null
          : `Body of ${prefix} post ${i}. A paragraph of ordinary text, long enough to look like a short post.`,
    };
  }
  return posts;
}

const SQL_W1 = 'SELECT id, email, username FROM users WHERE email = $1 ORDER BY created_at DESC LIMIT 10';
const SQL_W2 =
  'SELECT users.id, users.email, COUNT(posts.id) AS post_count FROM users LEFT JOIN posts ON ' +
  'users.id = posts.user_id WHERE users.id BETWEEN $1 AND $2 GROUP BY users.id HAVING COUNT(posts.id) > $3';
const SQL_W3 = 'INSERT INTO posts (organization_id, user_id, title, content) VALUES ($1, $2, $3, $4) RETURNING id';
const BULK_CHUNK = 1000; // rows per multi-row INSERT (knex batchInsert's default)

// ---- connections -------------------------------------------------------------
function pgConfig() {
  if (process.env.PGHOST) {
    return {
      host: process.env.PGHOST,
      port: Number(process.env.PGPORT || 5432),
      user: process.env.PGUSER,
      database: process.env.PGDATABASE || 'postgres',
    };
  }
  return { connectionString: process.env.DATABASE_URL };
}

// ---- drizzle's schema (the bench.ttl tables) -----------------------------------
const users = pgTable('users', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  organizationId: bigint('organization_id', { mode: 'number' }).notNull(),
  email: text('email').notNull(),
  username: text('username').notNull(),
  isActive: boolean('is_active').notNull().default(true),
  createdAt: timestamp('created_at').defaultNow(),
});
const posts = pgTable('posts', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  organizationId: bigint('organization_id', { mode: 'number' }).notNull(),
  userId: bigint('user_id', { mode: 'number' }).notNull(),
  title: text('title').notNull(),
  content: text('content'),
  isPublished: boolean('is_published').notNull().default(false),
  views: bigint('views', { mode: 'number' }).notNull().default(0),
  createdAt: timestamp('created_at').defaultNow(),
});

// ---- the tools -----------------------------------------------------------------
// Each returns { w1(email), w2(first, last), w3(post), w4(posts), close() };
// w1/w2 resolve to the rows read, w3 to the new id.
async function makeKnex() {
  const cfg = pgConfig();
  const knex = knexFactory({ client: 'pg', connection: cfg, pool: { min: 1, max: 1 } });
  return {
    w1: (e) =>
      knex('users').select('id', 'email', 'username').where('email', e).orderBy('created_at', 'desc').limit(10),
    w2: (a, b) =>
      knex('users')
        .select('users.id', 'users.email', knex.raw('COUNT(posts.id) AS post_count'))
        .leftJoin('posts', 'users.id', 'posts.user_id')
        .whereBetween('users.id', [a, b])
        .groupBy('users.id')
        .havingRaw('COUNT(posts.id) > ?', [W2_MIN_POSTS]),
    w3: async (p) => (await knex('posts').insert(p).returning('id'))[0].id,
    w4: (rows) => knex.batchInsert('posts', rows, BULK_CHUNK),
    close: () => knex.destroy(),
  };
}

async function makeDrizzle() {
  const client = new pg.Client(pgConfig());
  await client.connect();
  const db = drizzle(client);
  const camel = (p) => ({ organizationId: p.organization_id, userId: p.user_id, title: p.title, content: p.content });
  return {
    w1: (e) =>
      db
        .select({ id: users.id, email: users.email, username: users.username })
        .from(users)
        .where(eq(users.email, e))
        .orderBy(desc(users.createdAt))
        .limit(10),
    w2: (a, b) =>
      db
        .select({ id: users.id, email: users.email, postCount: count(posts.id) })
        .from(users)
        .leftJoin(posts, eq(users.id, posts.userId))
        .where(between(users.id, a, b))
        .groupBy(users.id)
        .having(sql`COUNT(${posts.id}) > ${W2_MIN_POSTS}`),
    w3: async (p) => (await db.insert(posts).values(camel(p)).returning({ id: posts.id }))[0].id,
    w4: (rows) =>
      db.transaction(async (tx) => {
        for (let i = 0; i < rows.length; i += BULK_CHUNK)
          await tx.insert(posts).values(rows.slice(i, i + BULK_CHUNK).map(camel));
      }),
    close: () => client.end(),
  };
}

async function makePg() {
  const client = new pg.Client(pgConfig());
  await client.connect();
  // a multi-row INSERT of BULK_CHUNK rows, prepared once (named)
  const values = [];
  for (let r = 0; r < BULK_CHUNK; r++)
    values.push(`($${4 * r + 1}, $${4 * r + 2}, $${4 * r + 3}, $${4 * r + 4})`);
  const bulkSql = `INSERT INTO posts (organization_id, user_id, title, content) VALUES ${values.join(', ')}`;
  const flat = (rows) => {
    const params = new Array(rows.length * 4);
    for (let k = 0; k < rows.length; k++) {
      const p = rows[k];
      params[4 * k] = p.organization_id;
      params[4 * k + 1] = p.user_id;
      params[4 * k + 2] = p.title;
      params[4 * k + 3] = p.content;
    }
    return params;
  };
  return {
    w1: async (e) => (await client.query({ name: 'w1', text: SQL_W1, values: [e] })).rows,
    w2: async (a, b) => (await client.query({ name: 'w2', text: SQL_W2, values: [a, b, W2_MIN_POSTS] })).rows,
    w3: async (p) =>
      (
        await client.query({
          name: 'w3',
          text: SQL_W3,
          values: [p.organization_id, p.user_id, p.title, p.content],
        })
      ).rows[0].id,
    w4: async (rows) => {
      await client.query('BEGIN');
      try {
        let i = 0;
        for (; i + BULK_CHUNK <= rows.length; i += BULK_CHUNK)
          await client.query({ name: 'w4', text: bulkSql, values: flat(rows.slice(i, i + BULK_CHUNK)) });
        if (i < rows.length) {
          const rest = rows.slice(i);
          const v = rest.map((_, r) => `($${4 * r + 1}, $${4 * r + 2}, $${4 * r + 3}, $${4 * r + 4})`);
          await client.query(
            `INSERT INTO posts (organization_id, user_id, title, content) VALUES ${v.join(', ')}`,
            flat(rest),
          );
        }
        await client.query('COMMIT');
      } catch (e) {
        await client.query('ROLLBACK');
        throw e;
      }
    },
    close: () => client.end(),
  };
}

// ---- the run ------------------------------------------------------------------------
const admin = new pg.Client(pgConfig());
await admin.connect();
const one = async (q) => Number((await admin.query(q)).rows[0].v);
const nusers = await one('SELECT count(*) AS v FROM users');
const postsMax = await one('SELECT coalesce(max(id), 0) AS v FROM posts');
const cleanup = async () => {
  await admin.query(`DELETE FROM posts WHERE id > ${postsMax}`);
  await admin.query('VACUUM posts');
};
await cleanup();

const inputs = (scale) => {
  const n = (k) => Math.max(1, Math.floor(opts[k] * scale));
  return {
    w1: Array.from({ length: n('w1') }, (_, i) => email(w1User(i, nusers))),
    w2: Array.from({ length: n('w2') }, (_, i) => w2First(i, nusers)),
    w3: makePosts(n('w3'), 777, 'insert', nusers),
    w4: makePosts(n('w4'), 99, 'bulk', nusers),
  };
};

const tool = await { knex: makeKnex, drizzle: makeDrizzle, pg: makePg }[opts.tool]();

async function runWorkload(name, inp) {
  let rows = 0;
  const t0 = process.hrtime.bigint();
  if (name === 'W1') {
    for (const e of inp.w1) rows += (await tool.w1(e)).length;
  } else if (name === 'W2') {
    for (const a of inp.w2) rows += (await tool.w2(a, a + W2_WINDOW - 1)).length;
  } else if (name === 'W3') {
    for (const p of inp.w3) rows += Number(await tool.w3(p)) > 0 ? 1 : 0;
  } else {
    await tool.w4(inp.w4);
    rows = inp.w4.length;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const n = inp[name.toLowerCase()].length;
  if (name === 'W3' || name === 'W4') {
    const added = await one(`SELECT count(*) AS v FROM posts WHERE id > ${postsMax}`);
    if (added !== n) throw new Error(`${name}: ${added} rows added, expected ${n}`);
    await cleanup();
  }
  return { rate: n / seconds, rows };
}

const workloads = ['W1', 'W2', 'W3', 'W4'];
const warm = inputs(0.1);
for (const w of workloads) await runWorkload(w, warm);

const inp = inputs(1);
const rates = Object.fromEntries(workloads.map((w) => [w, []]));
const seen = {};
for (let r = 0; r < opts.rounds; r++) {
  for (const w of workloads) {
    const { rate, rows } = await runWorkload(w, inp);
    if (seen[w] !== undefined && seen[w] !== rows) throw new Error(`${w}: ${rows} rows, earlier ${seen[w]}`);
    seen[w] = rows;
    rates[w].push(rate);
  }
  process.stdout.write(`${opts.tool} round ${r + 1}/${opts.rounds}\n`);
}
await tool.close();
await admin.end();

const lines = [];
for (const w of workloads) {
  const v = rates[w].slice().sort((a, b) => a - b);
  const m = v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  const unit = w === 'W4' ? 'rows/s' : 'ops/s';
  lines.push(`result ${w} ${opts.tool} ${unit} ${m.toFixed(1)} ${v[0].toFixed(1)} ${v[v.length - 1].toFixed(1)} ${v.length}`);
  lines.push(`rates ${w} ${opts.tool} ${rates[w].map((x) => x.toFixed(1)).join(' ')}`);
  console.log(`${w.padEnd(3)} ${opts.tool.padEnd(8)} ${m.toFixed(0).padStart(10)} ${unit}  (W1/W2 rows read: ${seen[w]})`);
}
lines.push(`meta ${opts.tool}_max_rss_kib ${process.resourceUsage().maxRSS}`);
if (opts.out) writeFileSync(opts.out, lines.join('\n') + '\n');
