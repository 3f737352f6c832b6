// Preloaded into test servers (processes.ts): a server whose test process is gone, killed or
// crashed without its cleanup, exits too, instead of living on as an orphan that holds ports and
// talks to later ensembles on the same machine. The IPC channel closes when the parent dies.
if (process.channel !== undefined) {
  process.channel.unref(); // the channel alone must not keep a server alive
  process.on("disconnect", () => process.exit(1));
}
