// What the node integration tests share: a real `bakrest serve` on a free loopback port in a temporary
// directory (extra instance.toml text appended to a default configuration if given), and pass/fail counting
// that ends with the 'N passed, N failed' line. Only processes started here are ended, by their pid.
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const USER = 'admin';
const PASSWORD = 'Test-Passw0rd!';

class Checks {
  constructor() {
    this.passed = 0;
    this.failed = 0;
  }
  check(condition, what) {
    if (condition) this.passed++;
    else {
      this.failed++;
      console.log('FAIL: ' + what);
    }
  }
  equal(actual, expected, what) {
    const same = JSON.stringify(actual) === JSON.stringify(expected);
    this.check(same, `${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
  finish(error) {
    if (error) {
      console.log('FAIL: ' + (error.stack || error));
      this.failed++;
    }
    console.log(`${this.passed} passed, ${this.failed} failed`);
    process.exit(this.failed ? 1 : 0);
  }
}

// Starts the server; resolves to { proc, dataDir, port, stdout } once it listens. configText: a whole
// instance.toml, or null for the server's own default.
function startServer(binary, configText = null) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bakrest-it-'));
  if (configText !== null) fs.writeFileSync(path.join(dataDir, 'instance.toml'), configText);
  const env = Object.assign({}, process.env, { BAKREST_MASTER_USER: USER, BAKREST_MASTER_PASSWORD: PASSWORD });
  const proc = spawn(binary, ['serve', '--data', dataDir, '--port', '0', '--control-port', '0'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (chunk) => {
      out += chunk.toString();
      const m = out.match(/listening on [\d.]+:(\d+)/);
      if (m && /fingerprint/.test(out)) resolve({ proc, dataDir, port: Number(m[1]), stdout: out });
    });
    proc.on('exit', (code) => reject(new Error('server exited with ' + code)));
  });
}

// SIGTERM, wait for the exit, remove the data directory.
async function stopServer(server) {
  const exited = new Promise((resolve) => server.proc.on('exit', resolve));
  server.proc.kill('SIGTERM');
  await exited;
  fs.rmSync(server.dataDir, { recursive: true, force: true });
}

module.exports = { USER, PASSWORD, Checks, startServer, stopServer };
