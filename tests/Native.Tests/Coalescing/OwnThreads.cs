namespace RaftToolkit.Native.Tests.Coalescing;

/// <summary>Runs concurrent writers that really run at once, for tests of how writes meet.</summary>
internal static class OwnThreads
{
    /// <summary>
    /// Runs <paramref name="body"/>(0 .. count-1) each on a thread of its own, all starting
    /// together. Writes meet in a batch only if their writers really run at once, and a lone
    /// writer blocks its thread in the synced write: as thread-pool tasks, in a fresh process with
    /// two pool threads, the appenders ran one after another and no two writes ever met. The
    /// common start matters too: threads are created one by one, and with fast fsyncs the first
    /// ones once finished their appends before the last ones started (1,280 appends took 695
    /// writes; with the common start, 82 to 151).
    /// </summary>
    public static async Task Run(int count, Action<int> body)
    {
        using var start = new Barrier(count);
        await Task.WhenAll(Enumerable.Range(0, count).Select(i =>
            Task.Factory.StartNew(
                () =>
                {
                    start.SignalAndWait();
                    body(i);
                },
                CancellationToken.None,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default)));
    }
}
