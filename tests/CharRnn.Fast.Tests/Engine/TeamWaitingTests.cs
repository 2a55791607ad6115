using System.Diagnostics;
using CharRnn.Fast.Inference;
using CharRnn.Fast.Model;
using CharRnn.Fast.Text;
using CharRnn.Fast.Training;
using Xunit;

namespace CharRnn.Fast.Tests.Engine;

/// <summary>
/// How the team and the barrier wait: members that wait long block instead of burning a core, and with more members
/// than processors every meeting still happens, in order, with the same numbers as one thread.
/// </summary>
public class TeamWaitingTests
{
    // More members than the machine has processors, so they must take turns.
    private static int Oversubscribed => Math.Max(4, 4 * Environment.ProcessorCount);

    private const int IdleWindow = 1000;
    // A tenth of the window: a thread that spins through it uses most of it even on a loaded machine, a blocked one
    // nothing.
    private static readonly TimeSpan IdleBound = TimeSpan.FromMilliseconds(IdleWindow / 10);

    // This thread's directory under /proc/<pid>/task (Linux), read from the /proc/thread-self link.
    private static string TaskDirectory() => "/proc/" + new FileInfo("/proc/thread-self").LinkTarget;

    // CPU time that the given threads use while this one sleeps through an idle window, from their
    // /proc/<pid>/task/<tid>/stat (user + system time in clock ticks of 10 ms): other tests' threads do not count.
    private static TimeSpan CpuTimeWhileSleeping(string[] tasks, int milliseconds)
    {
        Thread.Sleep(100); // past any spin budget
        long before = Ticks(tasks);
        Thread.Sleep(milliseconds);
        return TimeSpan.FromMilliseconds(10 * (Ticks(tasks) - before));

        static long Ticks(string[] tasks)
        {
            long ticks = 0;
            foreach (var task in tasks)
            {
                string stat = File.ReadAllText(Path.Combine(task, "stat"));
                // fields after "pid (comm) ": state is the 1st, utime the 12th, stime the 13th
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                ticks += long.Parse(fields[11]) + long.Parse(fields[12]);
            }
            return ticks;
        }
    }

    [Fact]
    public void Barrier_members_waiting_for_a_late_member_block_instead_of_spinning()
    {
        const int members = 3, crossings = 200;
        var barrier = new TeamBarrier(members);
        var tasks = new string[members - 1];
        var waiting = Enumerable.Range(0, members - 1).Select(i => new Thread(() =>
        {
            tasks[i] = TaskDirectory();
            for (int t = 0; t <= crossings; t++) barrier.SignalAndWait();
        })).ToArray();
        foreach (var t in waiting) t.Start();
        for (int t = 0; t < crossings; t++) barrier.SignalAndWait();
        // the others are now waiting at crossing 201 for this thread
        var used = CpuTimeWhileSleeping(tasks, IdleWindow);
        barrier.SignalAndWait();
        foreach (var t in waiting) Assert.True(t.Join(TimeSpan.FromSeconds(60)), "a member was not woken");
        Assert.True(used < IdleBound, $"the waiting members used {used.TotalMilliseconds:F0} ms of CPU in {IdleWindow} ms");
    }

    [Fact]
    public void An_idle_team_blocks_instead_of_spinning()
    {
        const int members = 3;
        using var team = new WorkerTeam(members);
        // the members' threads, found from inside; each slot waits for all to start, so every slot runs on its own thread
        var tasks = new string[members];
        int started = 0, calls = 0;
        team.Run(m =>
        {
            tasks[m] = TaskDirectory();
            Interlocked.Increment(ref started);
            while (Volatile.Read(ref started) < members) Thread.SpinWait(1);
        });
        for (int run = 0; run < 200; run++) team.Run(_ => Interlocked.Increment(ref calls));
        var used = CpuTimeWhileSleeping(tasks[1..], IdleWindow);
        Assert.Equal(600, calls);
        Assert.True(used < IdleBound, $"the idle members used {used.TotalMilliseconds:F0} ms of CPU in {IdleWindow} ms");
    }

    [Fact]
    public void A_barrier_with_more_members_than_processors_keeps_every_crossing_in_step_and_allocates_nothing()
    {
        int members = Oversubscribed;
        const int crossings = 2000, window = 500;
        var barrier = new TeamBarrier(members);
        var stamps = new int[members];
        var violations = new int[members];
        var allocated = new long[members];
        var threads = Enumerable.Range(0, members).Select(m => new Thread(() =>
        {
            // the least over four windows of crossings, as AllocationProbe.Steady takes it: an allocation the barrier
            // makes shows in every window, the few kilobytes a window sometimes shows without one in a single window
            long before = 0, least = long.MaxValue;
            for (int t = 1; t <= crossings; t++)
            {
                if (t % window == 10) before = GC.GetAllocatedBytesForCurrentThread();
                Volatile.Write(ref stamps[m], t);
                barrier.SignalAndWait();
                // past crossing t everyone has stamped t, and nobody can stamp t + 2 before this member arrives again
                for (int k = 0; k < members; k++)
                {
                    int s = Volatile.Read(ref stamps[k]);
                    if (s < t || s > t + 1) violations[m]++;
                }
                if (t % window == 0) least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
            }
            allocated[m] = least;
        })).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) Assert.True(t.Join(TimeSpan.FromSeconds(120)), "the barrier did not let every member through");
        Assert.All(violations, v => Assert.Equal(0, v));
        Assert.All(allocated, a => Assert.Equal(0, a));
        Assert.All(stamps, s => Assert.Equal(crossings, s));
    }

    [Fact]
    public void A_team_with_more_members_than_processors_runs_every_slot_once_per_run()
    {
        int members = Oversubscribed;
        const int runs = 3000;
        using var team = new WorkerTeam(members);
        var counts = new int[members];
        Action<int> work = m => Interlocked.Increment(ref counts[m]);
        for (int run = 1; run <= runs; run++)
        {
            team.Run(work);
            for (int m = 0; m < members; m++)
                if (counts[m] != run) Assert.Fail($"after run {run} slot {m} ran {counts[m]} times");
            if (run % 500 == 0) Thread.Sleep(5); // let the members block, then wake them
        }
    }

    [Fact]
    public void The_caller_runs_the_slots_its_blocked_members_have_not_taken_yet()
    {
        const int members = 4;
        var team = new WorkerTeam(members);
        team.Run(_ => { });
        // The members block on the team's start signal. While the caller holds that signal's monitor (it is reentrant,
        // so the caller's own wake-up still goes through), a woken member cannot leave its wait: it is a member
        // without a core, deterministically. Only the caller can then run slots 1..n−1; a team whose caller only
        // waited for its members would never finish the Run. The count of sleepers, read under the monitor, shows when
        // every member is in its wait (a sleeper leaves the count before it leaves the monitor).
        var start = Field(team, "_start");
        var gate = Field(start, "_gate");
        var ranOn = new int[members];
        int caller = 0;
        bool blocked = false;
        var run = new Thread(() =>
        {
            caller = Environment.CurrentManagedThreadId;
            for (var waited = Stopwatch.StartNew(); waited.Elapsed < TimeSpan.FromSeconds(20); Thread.Sleep(1))
            {
                lock (gate)
                {
                    if ((int)Field(start, "_sleepers") < members - 1) continue;
                    blocked = true;
                    team.Run(m => ranOn[m] = Environment.CurrentManagedThreadId);
                    return;
                }
            }
        }) { IsBackground = true };
        run.Start();
        Assert.True(run.Join(TimeSpan.FromSeconds(40)), "the caller waited for members that could not run");
        Assert.True(blocked, "the idle members never blocked");
        Assert.All(ranOn, id => Assert.Equal(caller, id));
        // released, the members find their slots taken and meet the next Run as usual
        var counts = new int[members];
        for (int i = 0; i < 20; i++) team.Run(m => Interlocked.Increment(ref counts[m]));
        Assert.All(counts, c => Assert.Equal(20, c));
        team.Dispose();

        static object Field(object owner, string name) =>
            owner.GetType().GetField(name, System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)?.GetValue(owner)
            ?? throw new InvalidOperationException($"{owner.GetType().Name} has no field {name}");
    }

    [Fact]
    public void Batch_one_training_on_more_threads_than_processors_is_bit_identical_to_one_thread()
    {
        int threads = Math.Min(8, 2 * Environment.ProcessorCount);
        const string text = "pack my box with five dozen liquor jugs; the quick brown fox. ";
        float[] Train(int n)
        {
            var options = new TrainingOptions { Optimizer = OptimizerKind.Adam, LearningRate = 0.003, BatchSize = 1, SequenceLength = 16, Threads = n, Seed = 6 };
            var model = Trainer.NewModel(Vocabulary.FromText(text), 128 * threads, options);
            using var trainer = new Trainer(model, model.Vocabulary.Encode(string.Concat(Enumerable.Repeat(text, 10))), options);
            Assert.Equal(n, trainer.Threads);
            for (int i = 0; i < 12; i++) trainer.TrainStep();
            return model.Parameters.All.ToArray();
        }
        Assert.Equal(Train(1), Train(threads));
    }

    [Fact]
    public void Generation_on_more_threads_than_processors_is_bit_identical_to_one_thread()
    {
        int threads = Math.Min(8, 2 * Environment.ProcessorCount);
        const string text = "a team larger than the machine still computes the same characters. ";
        var options = new TrainingOptions { Seed = 5, WeightInit = new InitScheme(InitKind.Normal, 0.1) };
        var model = new InferenceModel(Trainer.NewModel(Vocabulary.FromText(text), 128 * threads, options));
        using var one = new Generator(model, seed: 2);
        using var team = new Generator(model, seed: 2, threads: threads);
        Assert.Equal(threads, team.Threads);
        var sampling = new SamplingOptions(1.0);
        for (int i = 0; i < 400; i++)
        {
            Assert.Equal(one.Next(sampling), team.Next(sampling));
            Assert.True(one.HiddenState.SequenceEqual(team.HiddenState), $"h differs at step {i}");
        }
    }
}
