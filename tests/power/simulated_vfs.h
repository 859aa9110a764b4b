// The SQLite side of the simulated disk (simulated_disk.h): a VFS that wraps the default one (unix) and
// reports every write, truncation, sync, creation and deletion of a file under the active disk's root to
// that disk — which may fail it after a power cut.
//
// Why it is registered as SQLite's default rather than hooked into the product: bakrest's capture VFS wraps
// whatever sqlite3_vfs_find(nullptr) returns when it is first used (engine/capture_vfs.cc), and msdb opens
// with the default VFS. Made the default before anything opens a database, this VFS ends up under both, so
// the product runs its own, unchanged VFS stack with one pass-through layer beneath it — the layer a real
// disk would be — and no product code knows about tests. That is why the power-loss tests have their own
// binary, whose main() calls register_simulated_vfs() first (in a shared test binary another test could
// use the capture VFS first and fix its base to unix).
//
// While no disk is active, every call goes straight to the default VFS.
#pragma once

namespace bakrest::power {

// Registers the VFS "simulated" as SQLite's default. Call once, before SQLite opens any file.
void register_simulated_vfs();

}  // namespace bakrest::power
