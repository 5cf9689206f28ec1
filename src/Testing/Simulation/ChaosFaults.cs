namespace RaftToolkit.Testing.Simulation;

/// <summary>
/// How often each fault strikes per chaos step, as cumulative thresholds of a roll in
/// [0, 1000): a roll below <see cref="Crash"/> crashes a node, below <see cref="Restart"/>
/// restarts crashed ones, and so on up to <see cref="Heal"/>. A roll at or above
/// <see cref="Heal"/> injects nothing, leaving the rest of the range to the test's own actions.
/// </summary>
/// <param name="Crash">Upper bound of the crash range.</param>
/// <param name="Restart">Upper bound of the restart range.</param>
/// <param name="Partition">Upper bound of the two-sided partition range.</param>
/// <param name="Isolate">Upper bound of the isolate-one-node range.</param>
/// <param name="Cut">Upper bound of the one-way cut range.</param>
/// <param name="Heal">Upper bound of the heal-everything range.</param>
public sealed record ChaosFaults(int Crash, int Restart, int Partition, int Isolate, int Cut, int Heal)
{
    /// <summary>
    /// Injects the fault <paramref name="roll"/> selects, drawing any further choices from
    /// <paramref name="random"/> (so a seed replays the same schedule).
    /// </summary>
    /// <returns>True when the roll fell in a fault range.</returns>
    public bool Inject(SimulatedCluster cluster, Random random, ulong[] ids, int roll)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(random);
        ArgumentNullException.ThrowIfNull(ids);
        var network = cluster.Network;
        if (roll < Crash)
        {
            ulong victim = ids[random.Next(ids.Length)];
            if (cluster.IsUp(victim))
            {
                cluster.Crash(victim);
            }
        }
        else if (roll < Restart)
        {
            foreach (var id in ids)
            {
                if (!cluster.IsUp(id) && random.Next(3) == 0)
                {
                    cluster.Restart(id);
                }
            }
        }
        else if (roll < Partition)
        {
            var shuffled = ids.OrderBy(_ => random.Next()).ToArray();
            int cut = 1 + random.Next(ids.Length - 1);
            network.Partition([shuffled[..cut], shuffled[cut..]]);
        }
        else if (roll < Isolate)
        {
            network.Isolate(ids[random.Next(ids.Length)], ids);
        }
        else if (roll < Cut)
        {
            network.Cut(ids[random.Next(ids.Length)], ids[random.Next(ids.Length)]);
        }
        else if (roll < Heal)
        {
            network.HealAll();
        }
        else
        {
            return false;
        }

        return true;
    }
}
