// TLS with tedious and node mssql (docs/OPERATIONS.md, "Encryption"): at their defaults (encrypt: true)
// with trustServerCertificate or the certificate as CA, TDS 8.0 strict (encrypt: 'strict', TLS before
// PRELOGIN), and force_encryption refusing a client that won't encrypt. Every connection goes through
// wire_capture.py, which reports what crossed the wire in the clear.
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');
const readline = require('readline');
const { Connection, Request } = require('tedious');
const sql = require('mssql');
const { USER, PASSWORD, Checks, startServer, stopServer } = require('./harness');

const checks = new Checks();
const ENCRYPT_OPTION = 'SELECT encrypt_option FROM sys.dm_exec_connections WHERE session_id = @@SPID';

// wire_capture.py in front of the server; each finished connection arrives as a report.
function startCapture(serverPort) {
  const proc = spawn('/usr/bin/python3', [path.join(__dirname, 'wire_capture.py'), String(serverPort), PASSWORD,
    'encrypt_option'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const reports = [];
  const waiters = [];
  return new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: proc.stdout });
    lines.on('line', (line) => {
      const m = line.match(/^listening on (\d+)/);
      if (m) {
        resolve({
          port: Number(m[1]),
          // The report of the next connection to finish.
          next: () => new Promise((r) => (reports.length ? r(reports.shift()) : waiters.push(r))),
          stop: () => proc.stdin.end(),
        });
        return;
      }
      const report = JSON.parse(line);
      if (waiters.length) waiters.shift()(report);
      else reports.push(report);
    });
    proc.on('exit', (code) => reject(new Error('wire_capture.py exited with ' + code)));
  });
}

function tediousQuery(port, options, text) {
  return new Promise((resolve, reject) => {
    const connection = new Connection({
      server: 'localhost',
      authentication: { type: 'default', options: { userName: USER, password: PASSWORD } },
      options: Object.assign({ port, rowCollectionOnRequestCompletion: true }, options),
    });
    connection.connect((err) => {
      if (err) {
        connection.close();
        reject(err);
        return;
      }
      connection.execSql(new Request(text, (e, count, rows) => {
        connection.close();
        if (e) reject(e);
        else resolve(rows.map((r) => r.map((c) => c.value)));
      }));
    });
  });
}

async function mssqlQuery(port, options, text) {
  const pool = new sql.ConnectionPool({ server: 'localhost', port, user: USER, password: PASSWORD, options });
  await pool.connect();
  try {
    return (await pool.request().query(text)).recordset.map((r) => Object.values(r));
  } finally {
    await pool.close();
  }
}

// One client through the relay: what it got, and what the wire showed.
async function throughCapture(server, what, run, expectStrict = false) {
  const capture = await startCapture(server.port);
  try {
    let rows;
    try {
      rows = await run(capture.port);
    } catch (err) {
      rows = 'failed: ' + err.message;
    }
    checks.equal(rows, [['TRUE']], what + ': sys.dm_exec_connections.encrypt_option');
    const report = await capture.next();
    checks.equal(report.clear_packet_types.includes(0x10), false, what + ': LOGIN7 sent in the clear');
    checks.equal(report.secrets_seen, [], what + ': secrets on the wire');
    if (expectStrict) checks.equal(report.first_byte, 0x16, what + ': the first byte is a TLS handshake record');
    else checks.equal(report.first_byte, 0x12, what + ': the first byte starts a PRELOGIN packet');
  } finally {
    capture.stop();
  }
}

async function main() {
  const binary = path.resolve(process.argv[2]);
  let server = await startServer(binary);
  try {
    const ca = fs.readFileSync(path.join(server.dataDir, 'tls', 'server.crt'));
    await throughCapture(server, 'tedious encrypt: true, trustServerCertificate',
      (port) => tediousQuery(port, { encrypt: true, trustServerCertificate: true }, ENCRYPT_OPTION));
    await throughCapture(server, 'tedious encrypt: true with the certificate as CA',
      (port) => tediousQuery(port, { encrypt: true, trustServerCertificate: false, cryptoCredentialsDetails: { ca } },
        ENCRYPT_OPTION));
    await throughCapture(server, "tedious encrypt: 'strict' (TDS 8.0)",
      (port) => tediousQuery(port, { encrypt: 'strict', cryptoCredentialsDetails: { ca } }, ENCRYPT_OPTION), true);
    await throughCapture(server, 'node mssql at its defaults, trustServerCertificate',
      (port) => mssqlQuery(port, { trustServerCertificate: true }, ENCRYPT_OPTION));
    await throughCapture(server, "node mssql encrypt: 'strict'",
      (port) => mssqlQuery(port, { encrypt: 'strict', cryptoCredentialsDetails: { ca } }, ENCRYPT_OPTION), true);
    // Without the CA and without trusting any certificate, the client refuses the self-signed one.
    try {
      await tediousQuery(server.port, { encrypt: 'strict' }, 'SELECT 1');
      checks.check(false, 'strict without the CA must refuse the certificate');
    } catch (err) {
      checks.check(/certificate/.test(err.message), 'strict without the CA: ' + err.message);
    }
  } finally {
    await stopServer(server);
  }

  // force_encryption: tedious with encrypt: false is told encryption is required.
  server = await startServer(binary, 'instance_id = "bakrest-test"\n[tls]\nforce_encryption = true\n');
  try {
    try {
      await tediousQuery(server.port, { encrypt: false }, 'SELECT 1');
      checks.check(false, 'tedious with encrypt: false must be refused under force_encryption');
    } catch (err) {
      checks.check(/requires encryption/.test(err.message), 'tedious encrypt: false refused: ' + err.message);
    }
    checks.equal(await tediousQuery(server.port, { encrypt: true, trustServerCertificate: true }, ENCRYPT_OPTION),
      [['TRUE']], 'tedious encrypt: true under force_encryption');
  } finally {
    await stopServer(server);
  }
}

main().then(() => checks.finish(), (err) => checks.finish(err));
