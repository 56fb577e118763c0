// A simulation's worker process; see NrpHost.Isolation.WorkerProgram.
return await NrpHost.Isolation.WorkerProgram.RunAsync(args).ConfigureAwait(false);
