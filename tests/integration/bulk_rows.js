// The rows node mssql bulk-loads in test_node_mssql.js and bench/bulk_load_bench.js: int, nvarchar(50),
// decimal(10,2), datetime, bit and varbinary(16), each nullable column NULL now and then.
'use strict';

const sql = require('mssql');

const BULK_COLUMNS = 'id INT NOT NULL PRIMARY KEY, name NVARCHAR(50) NULL, amount DECIMAL(10,2) NULL, ' +
  'at DATETIME NULL, flag BIT NULL, data VARBINARY(16) NULL';

// Row i (1-based). DATETIME holds 1/300 s: milliseconds are multiples of 10.
function bulkRow(i) {
  return {
    id: i,
    name: i % 1000 === 0 ? null : `row ${i} \u2713 \u00e9`,
    amount: i % 777 === 0 ? null : (((i * 7919) % 10000000) - 5000000) / 100,
    at: i % 500 === 0 ? null : new Date(Date.UTC(2024, 0, 1) + i * 61000 + (i % 100) * 10),
    flag: i % 333 === 0 ? null : i % 3 === 0,
    data: i % 999 === 0 ? null : Buffer.from([(i >> 16) & 255, (i >> 8) & 255, i & 255, i % 7].slice(0, (i % 4) + 1)),
  };
}

// An mssql Table of rows 1..rows for request.bulk(); create: have bulk() create the table first.
function bulkTable(name, create, rows) {
  const t = new sql.Table(name);
  t.create = create;
  t.columns.add('id', sql.Int, { nullable: false, primary: true });
  t.columns.add('name', sql.NVarChar(50), { nullable: true });
  t.columns.add('amount', sql.Decimal(10, 2), { nullable: true });
  t.columns.add('at', sql.DateTime, { nullable: true });
  t.columns.add('flag', sql.Bit, { nullable: true });
  t.columns.add('data', sql.VarBinary(16), { nullable: true });
  for (let i = 1; i <= rows; i++) {
    const r = bulkRow(i);
    t.rows.add(r.id, r.name, r.amount, r.at, r.flag, r.data);
  }
  return t;
}

module.exports = { BULK_COLUMNS, bulkRow, bulkTable };
