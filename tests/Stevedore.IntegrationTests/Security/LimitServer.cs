namespace Stevedore.IntegrationTests.Security;

/// <summary>A host with small request and follower limits, so tests reach them quickly.</summary>
public sealed class LimitServer : StevedoreServer
{
    public const int MaxPayloadBytes = 1024;
    public const int SingleBodyBytes = (MaxPayloadBytes * 6) + (64 * 1024);
    public const int MaxBatchBytes = 256 * 1024;
    public const int FollowersPerTask = 2;
    public const int FollowersPerNode = 3;
    public const int QueuedFollowSeconds = 2;

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Stevedore:Queue:MaxPayloadBytes"] = $"{MaxPayloadBytes}",
        ["Stevedore:Queue:MaxBatchBytes"] = $"{MaxBatchBytes}",
        ["Stevedore:Logs:MaxFollowersPerTask"] = $"{FollowersPerTask}",
        ["Stevedore:Logs:MaxFollowersPerNode"] = $"{FollowersPerNode}",
        ["Stevedore:Logs:QueuedFollowTimeout"] = $"00:00:0{QueuedFollowSeconds}",
    };
}

[CollectionDefinition(Name)]
public sealed class LimitCollection : ICollectionFixture<LimitServer>
{
    public const string Name = "limits";
}
