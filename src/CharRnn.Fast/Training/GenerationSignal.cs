using System.Diagnostics;

namespace CharRnn.Fast.Training;

/// <summary>
/// A counter that threads wait on to move past a value they saw (an event count): the hand-off of <see cref="WorkerTeam"/>
/// and the crossing of <see cref="TeamBarrier"/> are built on it. A wait spins for a while, then blocks on a monitor
/// until an <see cref="Advance"/> wakes it; an advance takes the lock only when someone is blocked, so a meeting of
/// threads that each have a core costs no kernel call. Nothing is allocated per wait.
/// <para>
/// How long to spin: a meeting of running threads is over in well under a microsecond (generation at H = 512 meets
/// every ~10 µs), and the full budget of a millisecond also covers the caller's own work between two hand-offs of a
/// training step (optimizer, output layer), so a team on free cores is never woken from sleep. But a thread that spins
/// while the one it waits for has no core only delays it. So the budget adapts, as an adaptive mutex does: it doubles
/// (up to <see cref="MaxSpin"/>) when a wait ends while spinning and halves (down to <see cref="MinSpin"/>) when it
/// ends blocked, a sign that the threads outnumber the free cores. The floor still covers the short gaps of a
/// per-character loop, so a busy loop climbs back to the full budget after an idle spell. A team with more members than the process has processors can never run them all at once: like libgomp
/// (GOMP_SPINCOUNT drops from 300,000 to 100 spins when threads outnumber CPUs) it spins only
/// <see cref="OversubscribedSpin"/> before blocking.
/// </para>
/// </summary>
internal sealed class GenerationSignal
{
    // in Stopwatch ticks
    private static readonly long MaxSpin = Ticks(1000), MinSpin = Ticks(20), OversubscribedSpin = Ticks(2);

    private readonly object _gate = new();
    private readonly long _maxSpin, _minSpin;
    private int _value, _sleepers;
    private long _spin;

    /// <param name="members">threads that meet through this signal; more than the processors means they take turns</param>
    public GenerationSignal(int members)
    {
        bool oversubscribed = members > Environment.ProcessorCount;
        _maxSpin = oversubscribed ? OversubscribedSpin : MaxSpin;
        _minSpin = oversubscribed ? OversubscribedSpin : MinSpin;
        _spin = _maxSpin;
    }

    public int Value => Volatile.Read(ref _value);

    /// <summary>Moves the counter on and wakes every blocked waiter.</summary>
    public void Advance()
    {
        // The full fence of the increment orders it before the read of _sleepers, and Block orders its increment of
        // _sleepers before its read of _value: one of the two sees the other, so no wake-up is lost.
        Interlocked.Increment(ref _value);
        if (Volatile.Read(ref _sleepers) != 0)
            lock (_gate) Monitor.PulseAll(_gate);
    }

    /// <summary>Returns once <see cref="Value"/> differs from <paramref name="seen"/>.</summary>
    public void WaitPast(int seen)
    {
        if (Volatile.Read(ref _value) != seen) return;
        long budget = Volatile.Read(ref _spin), start = Stopwatch.GetTimestamp();
        for (int spins = 1; ; spins++)
        {
            Thread.SpinWait(1);
            if (Volatile.Read(ref _value) != seen)
            {
                if (budget < _maxSpin) Volatile.Write(ref _spin, Math.Min(2 * budget, _maxSpin));
                return;
            }
            // the clock is read every eighth pause (a few hundred ns): cheap next to the pauses themselves
            if ((spins & 7) == 0 && Stopwatch.GetTimestamp() - start > budget) break;
        }
        if (budget > _minSpin) Volatile.Write(ref _spin, Math.Max(budget / 2, _minSpin));
        Block(seen);
    }

    private void Block(int seen)
    {
        Interlocked.Increment(ref _sleepers);
        lock (_gate)
        {
            while (Volatile.Read(ref _value) == seen) Monitor.Wait(_gate);
            // still under the monitor: whoever holds it and counts the sleepers knows none of them is on its way out
            Interlocked.Decrement(ref _sleepers);
        }
    }

    private static long Ticks(int microseconds) => Math.Max(1, Stopwatch.Frequency * microseconds / 1_000_000);
}
