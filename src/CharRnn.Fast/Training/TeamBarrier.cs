namespace CharRnn.Fast.Training;

/// <summary>
/// A barrier for a team's members, crossed once per time step of a split recurrence (and per layer of a generated
/// character): arrivals count up, the last one resets the count and advances the generation, the others wait on it (a
/// short spin, then a blocking wait: see <see cref="GenerationSignal"/>). No allocation; no kernel call while every
/// member has a core.
/// </summary>
internal sealed class TeamBarrier(int participants)
{
    private readonly GenerationSignal _generation = new(participants);
    private int _count;

    public void SignalAndWait()
    {
        int generation = _generation.Value;
        if (Interlocked.Increment(ref _count) == participants)
        {
            // the advance's full fence publishes the reset before anyone can arrive for the next crossing
            _count = 0;
            _generation.Advance();
            return;
        }
        _generation.WaitPast(generation);
    }
}
