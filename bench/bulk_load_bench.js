// Bulk load against multi-row INSERTs through node mssql (tedious): ROWS rows (default 1,000,000) of the node
// integration test's table (int, nvarchar(50), decimal(10,2), datetime, bit, varbinary(16), with some NULLs)
// loaded once with request.bulk() (INSERT BULK and one BULK LOAD message) and once with INSERT statements of
// 1000 rows each, sent one after another in autocommit. Prints rows per second for each, and the server's peak
// resident memory (VmHWM of /proc/<pid>/status) before and after the bulk() call.
//
//   NODE_PATH=node_modules node bench/bulk_load_bench.js build/bakrest [ROWS] [--bulk-only]
//
// --bulk-only leaves out the INSERTs, e.g. for one bulk() of 2,000,000 rows (a BULK LOAD message of about
// 122 MB; node needs --max-old-space-size=4096 to build that table):
//
//   NODE_PATH=node_modules node --max-old-space-size=4096 bench/bulk_load_bench.js build/bakrest 2000000 --bulk-only
//
// The instance runs with the default [limits] (max_request_mb = 64): a bulk load streams, so one message may be
// far larger than that, and the server holds about a megabyte of it at a time.
'use strict';
const fs = require('fs');
const path = require('path');
const sql = require('mssql');
const { USER, PASSWORD, startServer, stopServer } = require(path.join(__dirname, '..', 'tests', 'integration',
  'harness'));
const { BULK_COLUMNS, bulkRow, bulkTable } = require(path.join(__dirname, '..', 'tests', 'integration', 'bulk_rows'));

const args = process.argv.slice(3);
const BULK_ONLY = args.includes('--bulk-only');
const ROWS = Number(args.find((a) => !a.startsWith('--')) || 1000000);
const ROWS_PER_INSERT = 1000;
const CONFIG = 'instance_id = "bakrest-bench"\n';

// The server's resident memory now and at its peak so far, in MiB.
function serverMemory(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (name) => Number(status.match(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm'))[1]);
  return { rss: kib('VmRSS') / 1024, hwm: kib('VmHWM') / 1024 };
}

function mib(n) {
  return `${n.toFixed(1)} MiB`;
}

function literal(r) {
  const text = (s) => (s === null ? 'NULL' : `N'${s.replace(/'/g, "''")}'`);
  const at = r.at === null ? 'NULL' : `'${r.at.toISOString().replace('T', ' ').replace('Z', '')}'`;
  return `(${r.id}, ${text(r.name)}, ${r.amount === null ? 'NULL' : r.amount}, ${at}, ` +
    `${r.flag === null ? 'NULL' : r.flag ? 1 : 0}, ${r.data === null ? 'NULL' : '0x' + r.data.toString('hex')})`;
}

function rate(rows, ms) {
  return `${rows.toLocaleString('en-US')} rows in ${(ms / 1000).toFixed(2)} s: ` +
    `${Math.round(rows / (ms / 1000)).toLocaleString('en-US')} rows/s`;
}

async function count(pool, table) {
  return (await pool.request().query(`SELECT COUNT(*) AS n FROM ${table}`)).recordset[0].n;
}

async function main(server) {
  const config = (database) => ({
    server: 'localhost', port: server.port, user: USER, password: PASSWORD, database,
    options: { trustServerCertificate: true }, pool: { max: 1, min: 0 },
    connectionTimeout: 120000, requestTimeout: 0,
  });
  const admin = await new sql.ConnectionPool(config('master')).connect();
  await admin.request().batch('CREATE DATABASE benchdb');
  await admin.close();
  const pool = await new sql.ConnectionPool(config('benchdb')).connect();
  await pool.request().batch(`CREATE TABLE by_bulk (${BULK_COLUMNS}); CREATE TABLE by_insert (${BULK_COLUMNS})`);

  // request.bulk(): the rows are built first; the timing covers encoding, sending and inserting them.
  const table = bulkTable('by_bulk', false, ROWS);
  const before = serverMemory(server.proc.pid);
  let start = Date.now();
  const result = await pool.request().bulk(table);
  const bulkMs = Date.now() - start;
  const after = serverMemory(server.proc.pid);
  if (result.rowsAffected !== ROWS) throw new Error(`bulk(): rowsAffected ${result.rowsAffected}`);
  if (await count(pool, 'by_bulk') !== ROWS) throw new Error('bulk(): wrong row count');
  console.log(`bulk load, node mssql request.bulk():        ${rate(ROWS, bulkMs)}`);
  console.log(`server peak resident memory (VmHWM):         ${mib(before.hwm)} before bulk(), ` +
    `${mib(after.hwm)} after (+${mib(after.hwm - before.hwm)}); VmRSS ${mib(after.rss)} after`);
  if (BULK_ONLY) {
    await pool.close();
    return;
  }

  // INSERT ... VALUES of 1000 rows each; the timing covers writing each statement's text too.
  start = Date.now();
  for (let first = 1; first <= ROWS; first += ROWS_PER_INSERT) {
    const values = [];
    for (let i = first; i < first + ROWS_PER_INSERT && i <= ROWS; i++) values.push(literal(bulkRow(i)));
    await pool.request().batch(`INSERT INTO by_insert (id, name, amount, at, flag, data) VALUES ${values.join(', ')}`);
  }
  const insertMs = Date.now() - start;
  if (await count(pool, 'by_insert') !== ROWS) throw new Error('INSERT: wrong row count');
  const same = (await pool.request().query(
    'SELECT COUNT(*) AS n FROM by_bulk b JOIN by_insert i ON i.id = b.id AND i.name IS b.name AND ' +
    'i.amount IS b.amount AND i.at IS b.at AND i.flag IS b.flag AND i.data IS b.data')).recordset[0].n;
  await pool.close();

  console.log(`multi-row INSERT, ${ROWS_PER_INSERT} rows per statement:  ${rate(ROWS, insertMs)}`);
  console.log(`bulk load / INSERT: ${(insertMs / bulkMs).toFixed(1)}x; rows stored alike by both: ` +
    `${same.toLocaleString('en-US')} of ${ROWS.toLocaleString('en-US')}`);
}

(async () => {
  const binary = process.argv[2];
  if (!binary) {
    console.error('usage: node bench/bulk_load_bench.js path/to/bakrest [ROWS] [--bulk-only]');
    process.exit(2);
  }
  const server = await startServer(binary, CONFIG);
  let failed = false;
  try {
    await main(server);
  } catch (e) {
    console.error(e.stack || e);
    failed = true;
  } finally {
    await stopServer(server);
  }
  process.exit(failed ? 1 : 0);
})();
