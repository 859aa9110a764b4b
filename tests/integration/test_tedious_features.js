// What drivers and pools rely on, through tedious's own calls (each one a TDS request SQL Server answers):
// savepoints by the transaction manager (saveTransaction, rollbackTransaction to a name: TM_SAVE_XACT and a named
// TM_ROLLBACK_XACT), temporary tables that live across requests and are gone after a connection reset
// (connection.reset: the RESETCONNECTION flag) and at disconnect, ##global ones seen by another session,
// WAITFOR DELAY ended by a cancel (ATTENTION), RAISERROR ... WITH NOWAIT arriving while the batch runs, and a write that waits for another session's transaction instead
// of failing with "database is locked", and a bulk load cancelled while its rows are still being sent (tedious ends
// the BULK_LOAD message with the IGNORE bit and waits for a reply): the load is undone and the connection goes on.
'use strict';
const { Connection, Request, TYPES } = require('tedious');
const { USER, PASSWORD, Checks, startServer, stopServer } = require('./harness');

const checks = new Checks();
const opened = new Set();  // connections not yet closed: a part that failed leaves them, and they are closed after it

function connect(port, database) {
  const connection = new Connection({
    server: 'localhost',
    authentication: { type: 'default', options: { userName: USER, password: PASSWORD } },
    options: { port, database, trustServerCertificate: true, requestTimeout: 120000, connectTimeout: 60000 },
  });
  connection.on('error', (e) => checks.check(false, `connection error: ${e.message}`));
  return new Promise((resolve, reject) => {
    connection.on('connect', (err) => {
      if (err) return reject(err);
      opened.add(connection);
      return resolve(connection);
    });
    connection.connect();
  });
}

// Rows as arrays of values; rejects with the server's error.
function query(connection, sql) {
  return new Promise((resolve, reject) => {
    const rows = [];
    const request = new Request(sql, (err) => (err ? reject(err) : resolve(rows)));
    request.on('row', (columns) => rows.push(columns.map((c) => c.value)));
    connection.execSql(request);
  });
}

// The server's error number for a statement that must fail, or 'no error'.
async function errorOf(connection, sql) {
  try {
    await query(connection, sql);
    return 'no error';
  } catch (e) {
    return e.number;
  }
}

function call(connection, method, ...args) {
  return new Promise((resolve, reject) => connection[method]((err) => (err ? reject(err) : resolve()), ...args));
}

function close(connection) {
  opened.delete(connection);
  return new Promise((resolve) => {
    connection.on('end', resolve);
    connection.close();
  });
}

async function savepoints(port) {
  const c = await connect(port, 'features');
  await query(c, 'CREATE TABLE sp (x INT)');
  await call(c, 'beginTransaction', 'outer');
  await query(c, 'INSERT INTO sp VALUES (1)');
  await call(c, 'saveTransaction', 'first');
  await query(c, 'INSERT INTO sp VALUES (2)');
  await call(c, 'rollbackTransaction', 'first');
  checks.equal(await query(c, 'SELECT x, @@TRANCOUNT FROM sp'), [[1, 1]],
    'rolling back to a savepoint undoes what followed it and keeps the transaction open');
  await call(c, 'commitTransaction');
  checks.equal(await query(c, 'SELECT x, @@TRANCOUNT FROM sp'), [[1, 0]], 'the commit keeps what came before');
  checks.equal(await errorOf(c, 'BEGIN TRAN; ROLLBACK TRAN nosuch'), 6401,
    'a rollback to a savepoint that does not exist is 6401');
  await query(c, 'IF @@TRANCOUNT > 0 ROLLBACK');
  await close(c);
}

async function temporaryTables(port) {
  const c = await connect(port, 'features');
  await query(c, 'CREATE TABLE #work (id INT PRIMARY KEY, label NVARCHAR(20))');
  await query(c, "INSERT INTO #work VALUES (1, N'one'), (2, N'two')");
  await query(c, 'USE master');
  checks.equal(await query(c, 'SELECT label FROM #work ORDER BY id'), [['one'], ['two']],
    'a #temporary table lives across requests and USE');
  checks.check((await query(c, "SELECT OBJECT_ID('tempdb..#work')"))[0][0] !== null, "OBJECT_ID('tempdb..#work')");
  await query(c, 'CREATE TABLE ##shared (v INT); INSERT INTO ##shared VALUES (7)');
  const other = await connect(port, 'features');
  checks.equal(await errorOf(other, 'SELECT * FROM #work'), 208, "another session can't see #work");
  checks.equal(await query(other, 'SELECT v FROM ##shared'), [[7]], 'another session sees ##shared');
  await call(c, 'reset');
  checks.equal(await errorOf(c, 'SELECT * FROM #work'), 208, 'a connection reset drops #temporary tables');
  checks.equal(await query(c, 'SELECT DB_NAME()'), [['features']], 'and returns to the login database');
  await close(c);
  // The session that made ##shared ended: the table went with it. The client's close returns before the
  // server has ended the session (slower under the sanitizers), so this waits for the table to go, up to 30 s.
  let gone;
  for (const deadline = Date.now() + 30000; ;) {
    gone = await errorOf(other, 'SELECT v FROM ##shared');
    if (gone === 208 || Date.now() > deadline) break;
    await new Promise((resolve) => setImmediate(resolve));
  }
  checks.equal(gone, 208, '##shared is gone when its session ends');
  await close(other);
}

async function cancelWaitfor(port) {
  const c = await connect(port, 'features');
  const outcome = new Promise((resolve) => {
    const request = new Request("WAITFOR DELAY '00:10:00'", (err) => resolve(err ? err.code : 'finished'));
    c.execSql(request);
    // tedious sends ATTENTION once the request is on its way.
    setImmediate(() => c.cancel());
  });
  checks.equal(await outcome, 'ECANCEL', 'WAITFOR DELAY of ten minutes is ended by a cancel');
  checks.equal(await query(c, 'SELECT 1'), [[1]], 'the connection is usable after the cancel');
  await close(c);
}

// RAISERROR ... WITH NOWAIT reaches the client while the batch still runs (a progress message before a
// long wait), and the wait is then cancelled.
async function nowait(port) {
  const c = await connect(port, 'features');
  const outcome = new Promise((resolve) => {
    const request = new Request("RAISERROR('starting %d', 0, 1, 42) WITH NOWAIT; WAITFOR DELAY '00:10:00'",
      (err) => resolve(err ? err.code : 'finished'));
    c.on('infoMessage', (info) => {
      checks.equal(info.message, 'starting 42', 'the NOWAIT message arrives while the batch runs');
      c.cancel();
    });
    c.execSql(request);
  });
  checks.equal(await outcome, 'ECANCEL', 'the batch after the message was still running, and is cancelled');
  await close(c);
}

async function lockWait(port) {
  const a = await connect(port, 'features');
  const b = await connect(port, 'features');
  await query(a, 'CREATE TABLE accounts (id INT PRIMARY KEY, balance INT)');
  await query(a, 'INSERT INTO accounts VALUES (1, 100)');
  const events = [];
  await call(a, 'beginTransaction');
  await query(a, 'UPDATE accounts SET balance = balance - 10 WHERE id = 1');
  // b reads first (a snapshot), then writes: it waits for a's transaction instead of failing at once.
  await query(b, 'BEGIN TRAN');
  checks.equal(await query(b, 'SELECT balance FROM accounts'), [[100]], 'a reader sees the committed balance');
  const write = query(b, 'UPDATE accounts SET balance = balance + 5 WHERE id = 1').then(
    () => events.push('b wrote'), (e) => events.push('b failed: ' + e.number + ' ' + e.message));
  // b's UPDATE is waiting on a's lock when sys.dm_exec_sessions shows it running.
  for (;;) {
    const rows = await query(a, "SELECT status FROM sys.dm_exec_sessions WHERE session_id <> @@SPID AND status = 'running'");
    if (rows.length > 0) break;
  }
  events.push('a commits');
  await call(a, 'commitTransaction');
  await write;
  await query(b, 'COMMIT');
  checks.equal(events, ['a commits', 'b wrote'], "b's write waited for a's commit and then succeeded");
  checks.equal(await query(a, 'SELECT balance FROM accounts'), [[95]], 'both updates are in');
  await close(a);
  await close(b);
}

async function cancelBulkLoad(port) {
  const c = await connect(port, 'features');
  await query(c, 'CREATE TABLE loaded (id INT NOT NULL PRIMARY KEY, s NVARCHAR(20))');
  function* rows() {
    for (let i = 1; i <= 1000000; i++) yield { id: i, s: `row ${i}` };
  }
  const watch = await connect(port, 'features');
  const done = new Promise((resolve) => {
    const bulk = c.newBulkLoad('loaded', (err, rowCount) => resolve({ err, rowCount }));
    bulk.addColumn('id', TYPES.Int, { nullable: false });
    bulk.addColumn('s', TYPES.NVarChar, { length: 20, nullable: true });
    c.execBulkLoad(bulk, rows());
  });
  // Cancel once the server runs the load (a million rows take tedious seconds to send).
  for (;;) {
    const running = await query(watch, "SELECT status FROM sys.dm_exec_sessions WHERE session_id <> @@SPID AND status = 'running'");
    if (running.length > 0) break;
  }
  c.cancel();
  const result = await done;
  await close(watch);
  checks.equal(result.err && result.err.code, 'ECANCEL', 'a bulk load cancelled while it is sent reports ECANCEL');
  checks.equal(await query(c, 'SELECT COUNT(*) FROM loaded'), [[0]], 'the cancelled bulk load is undone');
  await close(c);
}

(async () => {
  const server = await startServer(process.argv[2]);
  try {
    const setup = await connect(server.port, 'master');
    await query(setup, 'CREATE DATABASE features');
    await close(setup);
    for (const [name, part] of [['savepoints', savepoints], ['temporary tables', temporaryTables],
      ['cancel', cancelWaitfor], ['RAISERROR WITH NOWAIT', nowait], ['lock wait', lockWait],
      ['cancelled bulk load', cancelBulkLoad]]) {
      try {
        await part(server.port);
      } catch (e) {
        checks.check(false, `${name}: ${e.number || ''} ${e.message || e}`);
      }
      for (const c of [...opened]) await close(c);
    }
  } finally {
    await stopServer(server);
  }
  checks.finish();
})().catch((e) => checks.finish(e));
