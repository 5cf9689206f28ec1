namespace RaftToolkit.Testing.Simulation;

/// <summary>Simulated time in ticks: advances only when the test says so, so every run is repeatable.</summary>
public sealed class SimulatedClock
{
    /// <summary>The current tick.</summary>
    public long Now { get; private set; }

    /// <summary>Moves time forward by <paramref name="ticks"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="ticks"/> is negative.</exception>
    public void Advance(long ticks = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(ticks);
        Now += ticks;
    }
}
