using RaftToolkit.Cli;

return await CommandLine.RunAsync(args).ConfigureAwait(false);
