namespace CharRnn.Fast.Training;

/// <summary>
/// Chooses, call by call, between splitting a sequential step by columns over a <see cref="WorkerTeam"/> (a recurrence
/// chunk, a generated character) and running it alone on the caller, by timing both. Column splits give bit-identical
/// numbers, so only speed decides. On free cores splitting wins and stays chosen. When the team's threads have no cores
/// of their own (more threads than cores, other busy processes) every meeting waits for a thread to be scheduled, the
/// caller alone is faster, and the team sleeps until the next trial.
/// <para>
/// The first calls are a trial of each mode. Afterwards the faster mode runs, its time tracked call by call, and the
/// other is tried again once the faster one has run <see cref="TrialCostShare"/> times as long as a trial takes, so
/// trials cost about 2% at most. The first call after a change of mode wakes the team or refills caches and is not
/// timed; a time above four times the average (a preemption) counts as four times the average. Not thread-safe: one per
/// call site.
/// </para>
/// </summary>
/// <param name="clock">the clock calls are timed on (the system's; tests move their own)</param>
internal sealed class SplitChooser(TimeProvider? clock = null)
{
    private const int TrialCalls = 32, TrialCostShare = 50;
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private double _split, _alone;   // clock ticks per step, smoothed; 0 until measured
    private double _sinceTrial;      // ticks run outside trials since the last one
    private int _trialLeft;          // calls left in the current trial
    private bool _trialSplits, _splitting, _timed, _trial, _started;
    private int _steps;
    private long _start;

    /// <summary>Starts timing a call of <paramref name="steps"/> steps; true: split it over the team, false: run it alone.</summary>
    public bool Begin(int steps)
    {
        if (_trialLeft == 0)
        {
            if (_split == 0 || _alone == 0) StartTrial(split: _split == 0); // split first, then alone
            else if (_sinceTrial >= TrialCostShare * TrialCalls * steps * Math.Max(_split, _alone)) StartTrial(split: _split > _alone);
        }
        _trial = _trialLeft > 0;
        if (_trial) _trialLeft--;
        bool split = _trial ? _trialSplits : _split <= _alone;
        _timed = split == _splitting;
        _splitting = split;
        _steps = steps;
        _started = true;
        _start = _clock.GetTimestamp();
        return split;
    }

    /// <summary>Ends the call begun last (nothing if none is open).</summary>
    public void End()
    {
        if (!_started) return;
        _started = false;
        long ticks = _clock.GetTimestamp() - _start;
        if (!_trial) _sinceTrial += ticks;
        if (!_timed) return;
        double perStep = Math.Max(1, ticks) / (double)_steps;
        ref double average = ref _splitting ? ref _split : ref _alone;
        average = average == 0 ? perStep : average + (Math.Min(perStep, 4 * average) - average) / 4;
    }

    private void StartTrial(bool split)
    {
        _trialSplits = split;
        _trialLeft = TrialCalls;
        _sinceTrial = 0;
    }
}
