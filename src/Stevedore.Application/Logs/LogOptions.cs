namespace Stevedore.Application;

/// <summary>How task logs are read and followed. Configuration section <c>Stevedore:Logs</c>.</summary>
/// <remarks>
/// Each follower holds an HTTP response open; the caps keep a burst of followers (or a hostile client) from holding a
/// node's connections and memory. Followers of one task share one status check on each node, and on PostgreSQL every
/// follower of the node shares one log poll, so the caps bound open responses, not database load.
/// </remarks>
public sealed class LogOptions
{
    public const string Section = "Stevedore:Logs";

    /// <summary>Followers (<c>?follow=true</c>) of one task on one node; more are answered 429.</summary>
    public int MaxFollowersPerTask { get; set; } = 16;

    /// <summary>Followers of all tasks on one node; more are answered 429.</summary>
    public int MaxFollowersPerNode { get; set; } = 512;

    /// <summary>
    /// A follow of a task that stays queued this long (paused job, delayed task, waiting for a slot) ends with a last
    /// line saying so; follow again later.
    /// </summary>
    public TimeSpan QueuedFollowTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Most log bytes read from the store at a time (a page); a read never holds more in memory.</summary>
    public int ReadPageBytes { get; set; } = 256 * 1024;
}
