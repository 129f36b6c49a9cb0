namespace Stevedore.Storage;

/// <summary>
/// Tells waiters that a task's record changed, so log followers and watchers react at once instead of polling.
/// Take <see cref="NextChange"/> before reading the state it guards, then await it: no change is missed.
/// </summary>
public interface ITaskEvents
{
    void Publish(string taskId);

    /// <summary>Completes at the next <see cref="Publish"/> for the task.</summary>
    Task NextChange(string taskId);
}
