using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stevedore.Application;
using Stevedore.Application.Triggers;
using Stevedore.Storage;

namespace Stevedore.Grains.Schedules;

/// <summary>
/// One schedule. Its definition and bookkeeping are durable grain state; <see cref="ScheduleRules"/> decides, this
/// grain applies: an Orleans reminder wakes it every <see cref="ScheduleOptions.ReminderPeriod"/> (and after its silo
/// died, on another one), a grain timer fires near occurrences at their second. Each occurrence is written as pending
/// before its task is created through <see cref="TaskService"/> with an idempotency key made of the schedule id and the
/// occurrence, so an activation that takes over after a crash finds the same task instead of making a second.
/// </summary>
public sealed partial class ScheduleGrain(
    [PersistentState("schedule")] IPersistentState<ScheduleGrainState> state,
    TaskService tasks,
    ITaskStore taskStore,
    IScheduleStore store,
    ILocalSiloDetails silo,
    IOptions<ScheduleOptions> options,
    TimeProvider time,
    ILogger<ScheduleGrain> logger) : Grain, IScheduleGrain, IRemindable
{
    private const string ReminderName = "wake";
    // Payloads up to this size are kept in memory between occurrences; larger ones are read each time.
    private const int CachedPayloadBytes = 64 * 1024;
    private static readonly TimeSpan ArmingSlack = TimeSpan.FromMilliseconds(20);

    private ScheduleClock? _clock;
    private IGrainTimer? _timer;
    private ReadOnlyMemory<byte>? _payload;

    private string Id => this.GetPrimaryKeyString();
    private ScheduleSpec? Spec => state.State.Spec;
    private ScheduleProgress Progress => state.State.Progress;
    private ScheduleClock Clock => _clock ??= ScheduleClock.For(Spec!, state.State.CreatedAt);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (Spec is not null && ScheduleRules.StateOf(Progress) == ScheduleState.Active)
        {
            // Where it runs now, so that it is woken elsewhere at once if this silo dies.
            await store.SetSiloAsync(Id, silo.SiloAddress.ToParsableString(), cancellationToken);
            ArmIn(TimeSpan.Zero); // fire what came due while it was nowhere (once), then wait for the next
        }
    }

    public Task<ScheduleInfo?> GetAsync() => Task.FromResult(Spec is null ? null : Describe());

    public async Task<ScheduleInfo> CreateAsync(ScheduleSpec spec, DateTimeOffset createdAt)
    {
        if (Spec is null)
        {
            state.State = new ScheduleGrainState { Spec = spec, CreatedAt = createdAt };
            _clock = null;
            await state.WriteStateAsync();
            await StartAsync();
        }

        return Describe();
    }

    public async Task<ScheduleInfo?> SetPausedAsync(bool paused)
    {
        if (Spec is null)
        {
            return null;
        }

        var changed = paused ? ScheduleRules.Pause(Progress) : ScheduleRules.Resume(Progress, time.GetUtcNow());
        if (changed != Progress)
        {
            state.State.Progress = changed;
            await state.WriteStateAsync();
            if (paused)
            {
                await StopAsync();
            }
            else
            {
                await StartAsync();
            }
        }

        return Describe();
    }

    public async Task<bool> DeleteAsync()
    {
        if (Spec is null)
        {
            return false;
        }

        await StopAsync();
        await state.ClearStateAsync();
        state.State = new ScheduleGrainState();
        _clock = null;
        DeactivateOnIdle();
        return true;
    }

    public Task WakeAsync() => Task.CompletedTask; // activation does the work

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (Spec is null || ScheduleRules.StateOf(Progress) != ScheduleState.Active)
        {
            // A reminder outliving its schedule (deleted, paused or finished while a tick was under way).
            await UnregisterReminderAsync();
            return;
        }

        await TickSafelyAsync();
    }

    /// <summary>Fires, skips or finishes as <see cref="ScheduleRules"/> says until nothing is due, then arms the timer.</summary>
    private async Task TickAsync()
    {
        // Bounded: at most a pending occurrence, one due occurrence, then a wait or the end.
        for (var step = 0; step < 4 && Spec is { } spec; step++)
        {
            var now = time.GetUtcNow();
            var due = ScheduleRules.Due(Clock, Progress, now);
            var previousActive = due is not null && Progress.Pending is null && spec.Overlap == ScheduleOverlap.Skip
                && Progress.LastTaskId is { } last && await IsQueuedOrRunningAsync(last);
            var decision = ScheduleRules.Decide(Clock, spec, Progress, now, previousActive);
            switch (decision.Action)
            {
                case ScheduleAction.Wait:
                    ArmAt(decision.At);
                    return;
                case ScheduleAction.Finish:
                    state.State.Progress = ScheduleRules.Finish(Progress);
                    await state.WriteStateAsync();
                    await StopAsync();
                    LogFinished(logger, Id, Progress.Runs);
                    return;
                case ScheduleAction.Skip:
                    state.State.Progress = ScheduleRules.Skip(Progress, decision.At!.Value);
                    await state.WriteStateAsync();
                    LogSkipped(logger, Id, decision.At.Value, Progress.LastTaskId);
                    break;
                case ScheduleAction.Fire:
                    if (!await FireAsync(spec, decision.At!.Value))
                    {
                        return;
                    }

                    break;
            }
        }

        ArmIn(TimeSpan.FromSeconds(1)); // more to do than one turn should take: go on shortly
    }

    /// <summary>Creates the occurrence's task; false when the schedule is gone (its job was deleted).</summary>
    private async Task<bool> FireAsync(ScheduleSpec spec, DateTimeOffset occurrence)
    {
        if (Progress.Pending != occurrence)
        {
            state.State.Progress = ScheduleRules.Firing(Progress, occurrence);
            await state.WriteStateAsync();
        }

        var payload = _payload ?? await store.GetPayloadAsync(Id) ?? ReadOnlyMemory<byte>.Empty;
        _payload = payload.Length <= CachedPayloadBytes ? payload : null;
        var result = await tasks.EnqueueAsync(spec.Job, new TaskDraft
        {
            Payload = payload,
            Priority = spec.Priority,
            IdempotencyKey = ScheduleRules.IdempotencyKey(Id, occurrence),
            Labels = ScheduleRules.Labels(Id, spec, occurrence),
        });
        if (result.Error is { } error)
        {
            if (error.Kind == AppErrorKind.NotFound)
            {
                // Its job was deleted and this schedule's own deletion did not happen (a crash in between).
                LogJobGone(logger, Id, spec.Job);
                await DeleteAsync();
                await store.DeleteAsync(Id);
                return false;
            }

            throw new InvalidOperationException($"Schedule {Id} could not create the task of {ScheduleRules.Format(occurrence)}: {error.Detail}");
        }

        var task = result.Value!.Task;
        state.State.Progress = ScheduleRules.Fired(Progress, occurrence, task.Id);
        await state.WriteStateAsync();
        LogFired(logger, Id, occurrence, task.Id, result.Value.Existing);
        return true;
    }

    private async Task<bool> IsQueuedOrRunningAsync(string taskId) =>
        await taskStore.GetAsync(taskId) is { } task && !task.Status.IsTerminal();

    private async Task TickSafelyAsync()
    {
        try
        {
            await TickAsync();
        }
        catch (Exception ex)
        {
            // Storage or cluster away: try again soon (the reminder also comes back). The pending occurrence, if any,
            // is durable, so nothing fires twice.
            LogTickFailed(logger, ex, Id);
            ArmIn(TimeSpan.FromSeconds(1));
        }
    }

    private async Task StartAsync()
    {
        var period = options.Value.ReminderPeriod;
        await this.RegisterOrUpdateReminder(ReminderName, period, period);
        await store.SetSiloAsync(Id, silo.SiloAddress.ToParsableString());
        ArmIn(TimeSpan.Zero);
    }

    private async Task StopAsync()
    {
        ArmIn(null);
        await UnregisterReminderAsync();
        await store.SetSiloAsync(Id, null);
    }

    private async Task UnregisterReminderAsync()
    {
        if (await this.GetReminder(ReminderName) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    /// <summary>Arms the timer for <paramref name="at"/>, unless that is beyond the horizon a reminder tick will reach first.</summary>
    private void ArmAt(DateTimeOffset? at)
    {
        // A timer counts its delay from the moment it is created, not from when the delay was worked out: if the clock
        // moved in between (a jump of the clock, or this thread held up), the timer would come that much late. Arm again
        // from the new time until the clock stood still while arming (a few tries; a late timer is still caught up by the
        // reminder).
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var before = time.GetUtcNow();
            var delay = at is { } when ? when - before : (TimeSpan?)null;
            ArmIn(delay is { } d && d <= options.Value.TimerHorizon ? (d < TimeSpan.Zero ? TimeSpan.Zero : d) : null);
            if (delay is null || time.GetUtcNow() - before < ArmingSlack)
            {
                return;
            }
        }
    }

    private void ArmIn(TimeSpan? delay)
    {
        // A new timer each time, armed now: changing a timer from its own tick only takes effect once the tick's turn
        // has wound down, after the next call may already have run.
        _timer?.Dispose();
        _timer = delay is { } due
            ? this.RegisterGrainTimer(static (grain, _) => grain.TickSafelyAsync(), this, new GrainTimerCreationOptions
            {
                DueTime = due,
                Period = Timeout.InfiniteTimeSpan,
                KeepAlive = true, // an armed schedule is not collected as idle before its occurrence
            })
            : null;
    }

    private ScheduleInfo Describe() => new()
    {
        Id = Id,
        Spec = Spec!,
        State = ScheduleRules.StateOf(Progress),
        CreatedAt = state.State.CreatedAt,
        NextRunAt = ScheduleRules.NextRunAt(Clock, Spec!, Progress, time.GetUtcNow()),
        Runs = Progress.Runs,
        Skipped = Progress.Skipped,
        LastRunAt = Progress.LastRunAt,
        LastTaskId = Progress.LastTaskId,
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Schedule {ScheduleId} fired {Occurrence:O} as task {TaskId} (existing: {Existing}).")]
    private static partial void LogFired(ILogger logger, string scheduleId, DateTimeOffset occurrence, string taskId, bool existing);

    [LoggerMessage(Level = LogLevel.Information, Message = "Schedule {ScheduleId} skipped {Occurrence:O}: its task {TaskId} is still queued or running.")]
    private static partial void LogSkipped(ILogger logger, string scheduleId, DateTimeOffset occurrence, string? taskId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Schedule {ScheduleId} finished after {Runs} runs.")]
    private static partial void LogFinished(ILogger logger, string scheduleId, int runs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Schedule {ScheduleId} removed itself: its job {Job} no longer exists.")]
    private static partial void LogJobGone(ILogger logger, string scheduleId, string job);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Schedule {ScheduleId} could not fire; trying again shortly.")]
    private static partial void LogTickFailed(ILogger logger, Exception exception, string scheduleId);
}
