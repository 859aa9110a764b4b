// node `mssql` (package.json: 11.0.2, on tedious) at its defaults (encrypt: true) with trustServerCertificate:
// request.bulk(table) of 100,000 rows into a NEW table (table.create = true: `if object_id(...) is null create
// table ...`, then `insert bulk` and a BULK LOAD message) and into an EXISTING table, each counted and spot-checked
// (int, nvarchar, decimal, datetime, bit, varbinary, NULLs); OFFSET ... FETCH paging with parameters returning the
// right pages; OUTPUT parameters of sp_executesql (SET @out = @in + 1 gives 42; SELECT @out = @in assigns and
// returns no result set); a transaction rolled back and one committed; a pool reused across several requests. A
// step that throws is one failed check naming the server's error, and the next steps still run.
'use strict';
const sql = require('mssql');
const { USER, PASSWORD, Checks, startServer, stopServer } = require('./harness');
const { BULK_COLUMNS, bulkRow, bulkTable } = require('./bulk_rows');

const checks = new Checks();
const DATABASE = 'nodedb';
const ROWS = 100000;

function describe(e) {
  const parts = [];
  if (e.number !== undefined) parts.push(`${e.number}`);
  parts.push(e.message || String(e));
  for (const p of e.precedingErrors || []) parts.push(`(preceded by ${p.number} ${p.message})`);
  return parts.join(' ');
}

async function step(name, body) {
  try {
    return await body();
  } catch (e) {
    checks.check(false, `${name}: ${describe(e)}`);
    return undefined;
  }
}

function config(port, database, pool) {
  return {
    server: 'localhost',
    port,
    user: USER,
    password: PASSWORD,
    database,
    options: { trustServerCertificate: true }, // encrypt stays at its default, true
    pool: pool || { max: 2, min: 0 },
    connectionTimeout: 120000,
    requestTimeout: 300000,
  };
}

const SPOT = [1, 2, 3, 333, 500, 777, 999, 1000, 54321, 99999, 100000];

async function checkBulkTable(pool, name) {
  const counts = await step(`counting ${name}`, async () => (await pool.request().query(
    `SELECT COUNT(*) AS n, COUNT(name) AS names, COUNT(amount) AS amounts, COUNT(at) AS ats, COUNT(flag) AS flags, ` +
    `COUNT(data) AS datas, MIN(id) AS lo, MAX(id) AS hi, SUM(CAST(id AS BIGINT)) AS ids FROM ${name}`)).recordset[0]);
  if (counts) {
    const expected = { n: ROWS, names: 0, amounts: 0, ats: 0, flags: 0, datas: 0 };
    for (let i = 1; i <= ROWS; i++) {
      const r = bulkRow(i);
      for (const k of ['name', 'amount', 'at', 'flag', 'data']) if (r[k] !== null) expected[k + 's']++;
    }
    checks.equal(counts, Object.assign(expected, { lo: 1, hi: ROWS, ids: String((ROWS * (ROWS + 1)) / 2) }),
      `${name}: row count, non-NULL counts, ids (SUM of a BIGINT comes as a string)`);
  }
  const rows = await step(`spot-checking ${name}`, async () => (await pool.request().query(
    `SELECT id, name, amount, at, flag, data FROM ${name} WHERE id IN (${SPOT.join(', ')}) ORDER BY id`)).recordset);
  if (rows) {
    checks.equal(rows.length, SPOT.length, `${name}: spot-checked rows found`);
    for (const row of rows) {
      checks.equal(Object.assign({}, row), bulkRow(row.id), `${name}: row ${row.id}`);
    }
  }
}

async function main(server) {
  const admin = new sql.ConnectionPool(config(server.port, 'master'));
  await step('connect to master and CREATE DATABASE', async () => {
    await admin.connect();
    await admin.request().batch(`CREATE DATABASE ${DATABASE}`);
  });
  await admin.close();

  const pool = new sql.ConnectionPool(config(server.port, DATABASE));
  if (await step('connect (mssql defaults: encrypt true; trustServerCertificate)', () => pool.connect()) === undefined) {
    return;
  }
  await step('encryption', async () => {
    const r = await pool.request().query(
      'SELECT encrypt_option, DB_NAME() AS db FROM sys.dm_exec_connections WHERE session_id = @@SPID');
    checks.equal(r.recordset, [{ encrypt_option: 'TRUE', db: DATABASE }], 'the connection is encrypted, in ' + DATABASE);
  });

  // Bulk load into a new table (create = true) and into an existing one.
  await step('request.bulk into a NEW table (create = true)', async () => {
    const r = await pool.request().bulk(bulkTable('bulk_new', true, ROWS));
    checks.equal(r.rowsAffected, ROWS, 'bulk into a new table: rowsAffected');
  });
  await checkBulkTable(pool, 'bulk_new');

  await step('CREATE TABLE bulk_old', () => pool.request().batch(
    `CREATE TABLE bulk_old (${BULK_COLUMNS})`));
  await step('request.bulk into an EXISTING table', async () => {
    const r = await pool.request().bulk(bulkTable('bulk_old', false, ROWS));
    checks.equal(r.rowsAffected, ROWS, 'bulk into an existing table: rowsAffected');
  });
  await checkBulkTable(pool, 'bulk_old');

  // OFFSET ... FETCH with parameters.
  await step('CREATE TABLE paged', async () => {
    await pool.request().batch('CREATE TABLE paged (id INT NOT NULL PRIMARY KEY, name NVARCHAR(10) NOT NULL)');
    const values = [];
    for (let i = 1; i <= 50; i++) values.push(`(${i}, N'p${i}')`);
    await pool.request().batch(`INSERT INTO paged (id, name) VALUES ${values.join(', ')}`);
  });
  for (const [offset, n, ids] of [[0, 10, [1, 10]], [10, 10, [11, 20]], [45, 10, [46, 50]], [50, 10, null]]) {
    await step(`OFFSET ${offset} ROWS FETCH NEXT ${n} ROWS ONLY`, async () => {
      const r = await pool.request().input('offset', sql.Int, offset).input('n', sql.Int, n)
        .query('SELECT id, name FROM paged ORDER BY id OFFSET @offset ROWS FETCH NEXT @n ROWS ONLY');
      const expected = [];
      if (ids) for (let i = ids[0]; i <= ids[1]; i++) expected.push({ id: i, name: `p${i}` });
      checks.equal(r.recordset, expected, `page at offset ${offset}, ${n} rows`);
    });
  }
  await step('OFFSET ... FETCH descending', async () => {
    const r = await pool.request().input('offset', sql.Int, 3).input('n', sql.Int, 2)
      .query('SELECT id FROM paged ORDER BY id DESC OFFSET @offset ROWS FETCH FIRST @n ROWS ONLY');
    checks.equal(r.recordset, [{ id: 47 }, { id: 46 }], 'descending page at offset 3, 2 rows');
  });

  // OUTPUT parameters.
  await step('output parameter: SET @out = @in + 1', async () => {
    const r = await pool.request().input('in', sql.Int, 41).output('out', sql.Int).query('SET @out = @in + 1');
    checks.equal(r.output, { out: 42 }, 'SET @out = @in + 1 with @in = 41');
  });
  await step('output parameter: SELECT @out = @in', async () => {
    const r = await pool.request().input('in', sql.NVarChar(20), 'abc \u2713').output('out', sql.NVarChar(20))
      .query('SELECT @out = @in');
    checks.equal(r.output, { out: 'abc \u2713' }, 'SELECT @out = @in assigns the output parameter');
    checks.equal(r.recordsets.length, 0, 'SELECT @out = @in returns no result set');
  });

  // Transactions.
  await step('CREATE TABLE tx_t', () => pool.request().batch(
    'CREATE TABLE tx_t (id INT NOT NULL PRIMARY KEY, note NVARCHAR(20))'));
  await step('a transaction rolled back', async () => {
    const tx = new sql.Transaction(pool);
    await tx.begin();
    try {
      await new sql.Request(tx).query("INSERT INTO tx_t (id, note) VALUES (1, N'rolled back')");
      const inside = await new sql.Request(tx).query('SELECT COUNT(*) AS n, @@TRANCOUNT AS depth FROM tx_t');
      checks.equal(inside.recordset, [{ n: 1, depth: 1 }], 'the row and @@TRANCOUNT inside the transaction');
    } finally {
      await tx.rollback();
    }
    const after = await pool.request().query('SELECT COUNT(*) AS n FROM tx_t');
    checks.equal(after.recordset, [{ n: 0 }], 'rows after the rollback');
  });
  await step('a transaction committed', async () => {
    const tx = new sql.Transaction(pool);
    await tx.begin();
    await new sql.Request(tx).query("INSERT INTO tx_t (id, note) VALUES (2, N'committed')");
    await tx.commit();
    const after = await pool.request().query('SELECT id, note FROM tx_t ORDER BY id');
    checks.equal(after.recordset, [{ id: 2, note: 'committed' }], 'rows after the commit');
  });
  await pool.close();

  // One pool, many requests: sequential ones reuse one connection; parallel ones share the pool's two.
  const shared = new sql.ConnectionPool(config(server.port, DATABASE, { max: 2, min: 0 }));
  await step('a pool reused across several requests', async () => {
    await shared.connect();
    const sequential = [];
    for (let i = 0; i < 5; i++) {
      const r = await shared.request().input('i', sql.Int, i).query('SELECT @@SPID AS spid, @i * 2 AS twice');
      checks.equal(r.recordset[0].twice, i * 2, `sequential request ${i} on the pool`);
      sequential.push(r.recordset[0].spid);
    }
    checks.equal(new Set(sequential).size, 1, `five sequential requests reuse one connection (SPIDs ${sequential})`);
    const parallel = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => shared.request().input('i', sql.Int, i)
      .query('SELECT @@SPID AS spid, @i AS i')));
    checks.equal(parallel.map((r) => r.recordset[0].i), [1, 2, 3, 4, 5, 6], 'six parallel requests on the pool');
    const spids = new Set(parallel.map((r) => r.recordset[0].spid));
    checks.check(spids.size >= 1 && spids.size <= 2, `parallel requests share the pool's (at most 2) connections: ${[...spids]}`);
    const again = await shared.request().query('SELECT @@SPID AS spid');
    checks.check(spids.has(again.recordset[0].spid) || again.recordset[0].spid === sequential[0],
      'a later request reuses a pooled connection');
  });
  await shared.close();
}

(async () => {
  const server = await startServer(process.argv[2]);
  let error = null;
  try {
    await main(server);
  } catch (e) {
    error = e;
  } finally {
    await stopServer(server);
  }
  checks.finish(error);
})();
