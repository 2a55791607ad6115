using System.Runtime.ExceptionServices;

namespace CharRnn.Fast.Training;

/// <summary>
/// A fixed team of threads that run one piece of work per member, in lock-step: <see cref="Run"/> offers slots 1..n−1
/// of the work to the team's persistent threads, runs slot 0 on the caller, and returns when every slot is done.
/// Member m takes slot m, so each keeps its slot's data in its own cache; a thread that has finished its slot also
/// runs any slot nobody has taken yet, so a member without a core (more threads than free cores) holds nobody up:
/// the threads that do run do its share. The result is the same whoever runs a slot. Waiting spins briefly, then
/// blocks (<see cref="GenerationSignal"/>); dispatch allocates nothing. An exception in any slot is rethrown on the
/// caller.
/// </summary>
internal sealed class WorkerTeam : IDisposable
{
    // Slot s was last taken in Run generation _taken[s·Stride]; 16 ints apart, each flag has its own cache line.
    private const int Stride = 16;
    private readonly Thread[] _threads;
    private readonly Exception?[] _errors;
    private readonly int[] _taken;
    private readonly GenerationSignal _start, _done;
    private Action<int>? _work;
    private int _pending;
    private volatile bool _stopping;

    public WorkerTeam(int size)
    {
        if (size < 1) throw new ArgumentOutOfRangeException(nameof(size), size, "a team has at least one member");
        Size = size;
        _errors = new Exception?[size];
        _taken = new int[size * Stride];
        _start = new GenerationSignal(size);
        _done = new GenerationSignal(size);
        _threads = new Thread[size - 1];
        for (int i = 0; i < _threads.Length; i++)
        {
            int member = i + 1;
            _threads[i] = new Thread(() => Loop(member)) { IsBackground = true, Name = $"charrnn-worker-{member}" };
            _threads[i].Start();
        }
    }

    /// <summary>Members, the caller included.</summary>
    public int Size { get; }

    public void Run(Action<int> work)
    {
        ObjectDisposedException.ThrowIf(_stopping, this);
        _work = work;
        _pending = Size;
        int done = _done.Value;
        _start.Advance(); // its fence publishes _work and _pending to whoever sees the new generation
        int generation = _start.Value;
        if (Complete(0, work) != 0)
        {
            TakeUntaken(generation);
            _done.WaitPast(done);
        }
        _work = null;
        for (int i = 0; i < _errors.Length; i++)
        {
            if (_errors[i] is { } error)
            {
                Array.Clear(_errors);
                ExceptionDispatchInfo.Capture(error).Throw();
            }
        }
    }

    private void Loop(int member)
    {
        int seen = 0;
        while (true)
        {
            _start.WaitPast(seen);
            // a member that slept through a Run (its slot done by others) joins the newest one; the stop is read after
            // the generation: Dispose's advance is a generation with no Run, whose slots must not be taken (a member
            // that read the flag before it and the generation after took one, ran the cleared work and never returned)
            seen = _start.Value;
            if (_stopping) return;
            if (TryTake(member, seen) && Complete(member, Volatile.Read(ref _work)!) == 0) continue;
            TakeUntaken(seen);
        }
    }

    // Until every slot of the Run is done, _work is that Run's: it is read only after a slot has been taken.
    private bool TryTake(int slot, int generation)
    {
        ref int taken = ref _taken[slot * Stride];
        int previous = unchecked(generation - 1);
        // every slot is taken once per Run, so before this Run's taking each flag holds the previous generation; a
        // late thread still holding an older generation can take nothing
        return Volatile.Read(ref taken) == previous && Interlocked.CompareExchange(ref taken, generation, previous) == previous;
    }

    private void TakeUntaken(int generation)
    {
        for (int slot = 1; slot < Size; slot++)
            if (TryTake(slot, generation)) Complete(slot, Volatile.Read(ref _work)!);
    }

    /// <summary>Runs one slot; returns the slots of the Run still not done, and ends the Run when none are left.</summary>
    private int Complete(int slot, Action<int> work)
    {
        try { work(slot); }
        catch (Exception e) { _errors[slot] = e; }
        int left = Interlocked.Decrement(ref _pending);
        if (left == 0) _done.Advance();
        return left;
    }

    public void Dispose()
    {
        if (_stopping) return;
        _stopping = true;
        _start.Advance();
        foreach (var t in _threads) t.Join();
    }
}
