// The seed flow through tedious: SQL batches with execSql, the RDS procedures by RPC with callProcedure.
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { Connection, Request, TYPES } = require('tedious');

const USER = 'admin';
const PASSWORD = 'Test-Passw0rd!';
const ROWS = 3000;
const ARN = 'arn:aws:s3:::aws_example_bucket/backup1.bak';
let passed = 0;
let failed = 0;

function check(condition, what) {
  if (condition) passed++;
  else {
    failed++;
    console.log('FAIL: ' + what);
  }
}

function startServer(binary) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bakrest-it-'));
  const env = Object.assign({}, process.env, { BAKREST_MASTER_USER: USER, BAKREST_MASTER_PASSWORD: PASSWORD });
  const proc = spawn(binary, ['serve', '--data', dataDir, '--port', '0', '--control-port', '0'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (chunk) => {
      out += chunk.toString();
      const m = out.match(/listening on [\d.]+:(\d+)/);
      if (m) resolve({ proc, dataDir, port: Number(m[1]) });
    });
    proc.on('exit', (code) => reject(new Error('server exited with ' + code)));
  });
}

function connect(port) {
  const connection = new Connection({
    server: '127.0.0.1',
    authentication: { type: 'default', options: { userName: USER, password: PASSWORD } },
    options: { port, encrypt: false, trustServerCertificate: true, rowCollectionOnRequestCompletion: true },
  });
  return new Promise((resolve, reject) => {
    connection.on('connect', (err) => (err ? reject(err) : resolve(connection)));
    connection.connect();
  });
}

function rowsOf(rows) {
  return (rows || []).map((columns) => columns.map((c) => c.value));
}

function execSql(connection, sql) {
  return new Promise((resolve, reject) => {
    const request = new Request(sql, (err, rowCount, rows) => (err ? reject(err) : resolve(rowsOf(rows))));
    connection.execSql(request);
  });
}

function callProcedure(connection, name, params) {
  return new Promise((resolve, reject) => {
    const request = new Request(name, (err, rowCount, rows) => (err ? reject(err) : resolve(rowsOf(rows))));
    for (const [key, value] of Object.entries(params)) {
      request.addParameter(key, typeof value === 'number' ? TYPES.Int : TYPES.NVarChar, value);
    }
    connection.callProcedure(request);
  });
}

function literal(v) {
  if (v === null) return 'NULL';
  if (Buffer.isBuffer(v)) return '0x' + v.toString('hex');
  if (typeof v === 'string') return "N'" + v.replace(/'/g, "''") + "'";
  return String(v);
}

function rowValues(i) {
  const data = i % 11 === 0 ? null : Buffer.from(Array.from({ length: i % 200 }, (_, k) => (i * 7 + k) % 256));
  return [i, i % 17 === 0 ? null : `row ${i} — ünïcødé ✓`, i % 13 === 0 ? null : i * 1.25, data];
}

async function waitTask(connection, taskId) {
  for (let n = 0; n < 1500; n++) {
    const rows = await callProcedure(connection, 'msdb.dbo.rds_task_status', { task_id: taskId });
    if (['SUCCESS', 'ERROR', 'CANCELLED'].includes(rows[0][5])) return rows[0];
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('task ' + taskId + ' did not finish');
}

async function main() {
  const server = await startServer(path.resolve(process.argv[2]));
  try {
    const c = await connect(server.port);
    await execSql(c, 'CREATE DATABASE mydatabase');
    await execSql(c, 'USE mydatabase');
    await execSql(c, 'CREATE TABLE items (id INT PRIMARY KEY, name NVARCHAR(100), amount FLOAT, data VARBINARY(MAX))');
    for (let start = 1; start <= ROWS; start += 250) {
      const values = [];
      for (let i = start; i < Math.min(start + 250, ROWS + 1); i++) values.push('(' + rowValues(i).map(literal).join(', ') + ')');
      await execSql(c, 'INSERT INTO items VALUES ' + values.join(', '));
    }

    const created = await callProcedure(c, 'msdb.dbo.rds_backup_database', {
      source_db_name: 'mydatabase', s3_arn_to_backup_to: ARN, overwrite_s3_backup_file: 1, type: 'FULL',
    });
    check(created[0][1] === 'BACKUP_DB', 'backup task type');
    const backup = await waitTask(c, created[0][0]);
    check(backup[5] === 'SUCCESS', 'backup lifecycle: ' + backup[6]);
    check(backup[7] instanceof Date, 'last_updated is a datetime');

    const restoreTask = await callProcedure(c, 'msdb.dbo.rds_restore_database', {
      restore_db_name: 'mydatabase_copy', s3_arn_to_restore_from: ARN,
    });
    const restore = await waitTask(c, restoreTask[0][0]);
    check(restore[5] === 'SUCCESS', 'restore lifecycle: ' + restore[6]);

    const select = 'SELECT id, name, amount, data FROM %.dbo.items ORDER BY id';
    const original = await execSql(c, select.replace('%', 'mydatabase'));
    const restored = await execSql(c, select.replace('%', 'mydatabase_copy'));
    check(restored.length === ROWS, 'restored row count ' + restored.length);
    const expected = Array.from({ length: ROWS }, (_, k) => rowValues(k + 1));
    const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
    check(same(original, restored), 'every restored row equals the original');
    check(same(restored, expected), 'the rows read back equal the rows inserted');

    try {
      await callProcedure(c, 'msdb.dbo.rds_restore_database', { restore_db_name: 'mydatabase', s3_arn_to_restore_from: ARN });
      check(false, 'restore onto an existing name must fail');
    } catch (err) {
      check(err.message.includes("Database 'mydatabase' already exists. Two databases that differ only by case or accent are not allowed. Choose a different database name."),
        'restore onto an existing name: ' + err.message);
    }
    // Connection pools reset a connection before reusing it: back to the login's database.
    await new Promise((resolve, reject) => c.reset((err) => (err ? reject(err) : resolve())));
    const afterReset = await execSql(c, 'SELECT DB_NAME()');
    check(afterReset[0][0] === 'master', 'database after reset: ' + afterReset[0][0]);
    c.close();
  } finally {
    server.proc.kill('SIGTERM');
    await new Promise((r) => server.proc.on('exit', r));
    fs.rmSync(server.dataDir, { recursive: true, force: true });
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch((err) => {
  console.log('FAIL: ' + (err.stack || err));
  console.log(`${passed} passed, ${failed + 1} failed`);
  process.exit(1);
});
