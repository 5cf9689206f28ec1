using System.Diagnostics.Metrics;
using RaftToolkit.Native.Diagnostics;

namespace RaftToolkit.Native.Tests.Diagnostics;

/// <summary>Listens to the store's instruments while alive: sums of the counters by name, and every histogram record.</summary>
internal sealed class StorageMeasurements : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly Dictionary<string, long> _sums = [];
    private readonly List<int> _entriesPerWrite = [];
    private readonly List<double> _writeLatencies = [];

    public StorageMeasurements()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == StorageMetrics.MeterName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };

        // Other tests' stores may write through the same process-wide instruments meanwhile.
        _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            lock (_sums)
            {
                _sums[instrument.Name] = Sum(instrument.Name) + value;
            }
        });
        _listener.SetMeasurementEventCallback<int>((_, value, _, _) =>
        {
            lock (_sums)
            {
                _entriesPerWrite.Add(value);
            }
        });
        _listener.SetMeasurementEventCallback<double>((_, value, _, _) =>
        {
            lock (_sums)
            {
                _writeLatencies.Add(value);
            }
        });
        _listener.Start();
    }

    /// <summary>The sum of counter <paramref name="instrument"/> (full name) so far.</summary>
    public long Sum(string instrument)
    {
        lock (_sums)
        {
            return _sums.GetValueOrDefault(instrument);
        }
    }

    /// <summary>Every record of <c>raftkit.storage.entries_per_write</c> so far.</summary>
    public List<int> EntriesPerWrite
    {
        get
        {
            lock (_sums)
            {
                return [.. _entriesPerWrite];
            }
        }
    }

    /// <summary>Every record of <c>raftkit.storage.write_latency</c> so far.</summary>
    public List<double> WriteLatencies
    {
        get
        {
            lock (_sums)
            {
                return [.. _writeLatencies];
            }
        }
    }

    public void Dispose() => _listener.Dispose();
}
