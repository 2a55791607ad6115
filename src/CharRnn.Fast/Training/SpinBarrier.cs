namespace CharRnn.Fast.Training;

/// <summary>
/// A barrier for a few threads that each own a core, crossed once per time step of a split recurrence: arrivals count
/// up, the last one resets the count and advances the generation, the others spin on it. No allocation, no kernel call.
/// </summary>
internal sealed class SpinBarrier(int participants)
{
    private int _count, _generation;

    public void SignalAndWait()
    {
        int generation = Volatile.Read(ref _generation);
        if (Interlocked.Increment(ref _count) == participants)
        {
            _count = 0;
            Volatile.Write(ref _generation, generation + 1);
            return;
        }
        while (Volatile.Read(ref _generation) == generation) Thread.SpinWait(4);
    }
}
