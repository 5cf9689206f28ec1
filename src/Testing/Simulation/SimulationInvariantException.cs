namespace RaftToolkit.Testing.Simulation;

/// <summary>A safety invariant of the simulated cluster was broken; the message says which and where.</summary>
public sealed class SimulationInvariantException : Exception
{
    /// <summary>Creates the error.</summary>
    public SimulationInvariantException(string message) : base(message) { }
}
