using System.Diagnostics.Metrics;
using RaftToolkit.Native.Diagnostics;

namespace RaftToolkit.Benchmarks.Cluster;

/// <summary>Sums the stores' <c>raftkit.storage.synced_writes</c> counter for the whole process.</summary>
internal static class SyncedWrites
{
    private static long _total;
    private static readonly MeterListener Listener = Start();

    public static long Current
    {
        get
        {
            GC.KeepAlive(Listener);
            return Interlocked.Read(ref _total);
        }
    }

    private static MeterListener Start()
    {
        var listener = new MeterListener
        {
            InstrumentPublished = static (instrument, l) =>
            {
                if (instrument.Meter.Name == StorageMetrics.MeterName && instrument.Name == "raftkit.storage.synced_writes")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>(static (_, value, _, _) => Interlocked.Add(ref _total, value));
        listener.Start();
        return listener;
    }
}
