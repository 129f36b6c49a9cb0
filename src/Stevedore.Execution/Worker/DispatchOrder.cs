namespace Stevedore.Execution.Worker;

/// <summary>
/// Which queue partition a node with a free slot leases from: the one whose best ready task has the highest priority,
/// as the partitions last said (<c>WorkAvailable</c>, or a lease's <c>NextPriority</c>); among equals, the first at or
/// after the one following the last leased from, so equal partitions take turns. Pure, tested directly.
/// </summary>
internal static class DispatchOrder
{
    /// <summary>A pending partition's level: its best ready priority + 1 (0 means nothing pending).</summary>
    public static int Level(int priority) => Math.Max(0, priority) + 1;

    /// <summary>The priority a pending level stands for: the least a lease from that partition should start.</summary>
    public static int Priority(int level) => Math.Max(0, level - 1);

    /// <summary>The partition to lease from next, or -1 when none is pending (or all pending ones are skipped).</summary>
    public static int Pick(int[] pending, bool[] skip, int start)
    {
        var best = -1;
        var bestLevel = 0;
        for (var i = 0; i < pending.Length; i++)
        {
            var p = (start + i) % pending.Length;
            var level = Volatile.Read(ref pending[p]);
            if (level > bestLevel && !skip[p])
            {
                best = p;
                bestLevel = level;
            }
        }

        return best;
    }
}
