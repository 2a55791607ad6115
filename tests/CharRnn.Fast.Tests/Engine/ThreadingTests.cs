using CharRnn.Fast.Model;
using CharRnn.Fast.Text;
using CharRnn.Fast.Training;
using Xunit;

namespace CharRnn.Fast.Tests.Engine;

[Collection(AllocationCollection.Name)]
public class ThreadingTests
{
    private static readonly string Text = string.Concat(Enumerable.Repeat("pack my box with five dozen liquor jugs; ", 60));

    private static (float[] Weights, double[] Losses) Train(int threads, int batch, int steps, bool lines = false)
    {
        var text = lines ? Text.Replace(';', '\n') : Text;
        var options = new TrainingOptions { Optimizer = OptimizerKind.Adam, LearningRate = 0.005, BatchSize = batch, Threads = threads, Seed = 4 };
        var model = Trainer.NewModel(Vocabulary.FromText(text), 29, options, sequenceMode: lines);
        using var trainer = new Trainer(model, model.Vocabulary.Encode(text), options);
        Assert.Equal(threads, trainer.Threads); // the comparisons below mean nothing if the streams were not split
        var losses = new double[steps];
        for (int i = 0; i < steps; i++) losses[i] = trainer.TrainStep();
        return (model.Parameters.All.ToArray(), losses);
    }

    [Theory]
    [InlineData(2, 5, false)]
    [InlineData(3, 7, true)]
    public void Split_batches_train_the_same_model_as_one_thread(int threads, int batch, bool lines)
    {
        var (w1, l1) = Train(1, batch, 30, lines);
        var (wn, ln) = Train(threads, batch, 30, lines);
        // The same sums in another order: float rounding only.
        for (int i = 0; i < l1.Length; i++) Assert.True(Math.Abs(l1[i] - ln[i]) < 1e-4 * l1[i], $"step {i}: {l1[i]} vs {ln[i]}");
        for (int i = 0; i < w1.Length; i++) Assert.True(Math.Abs(w1[i] - wn[i]) < 1e-3 * (1 + Math.Abs(w1[i])), $"weight {i}: {w1[i]} vs {wn[i]}");
    }

    [Theory]
    [InlineData(256, Nonlinearity.Tanh)]
    [InlineData(300, Nonlinearity.Relu)]
    public void Batch_one_split_by_columns_is_bit_identical_to_one_thread(int hidden, Nonlinearity act)
    {
        float[] Run(int threads)
        {
            var options = new TrainingOptions { Optimizer = OptimizerKind.Adam, LearningRate = 0.003, BatchSize = 1, SequenceLength = 20, Threads = threads, Seed = 9 };
            var model = Trainer.NewModel(Vocabulary.FromText(Text), hidden, options, act);
            using var trainer = new Trainer(model, model.Vocabulary.Encode(Text), options);
            Assert.Equal(threads, trainer.Threads);
            for (int i = 0; i < 25; i++) trainer.TrainStep();
            if (threads > 1)
            {
                Assert.Equal(0, AllocationProbe.Steady(() => { for (int i = 0; i < 10; i++) trainer.TrainStep(); }));
            }
            else for (int i = 0; i < 10; i++) trainer.TrainStep();
            return model.Parameters.All.ToArray();
        }
        // each element of h_t and draw_t gets the same FMAs in the same order whichever thread computes it
        Assert.Equal(Run(1), Run(2));
    }

    [Fact]
    public void A_thread_count_gives_bit_identical_runs()
    {
        Assert.Equal(Train(2, 6, 40).Weights, Train(2, 6, 40).Weights);
    }

    [Fact]
    public void Threaded_steps_allocate_nothing_on_the_calling_thread()
    {
        var options = new TrainingOptions { Optimizer = OptimizerKind.Adam, BatchSize = 4, Threads = 2 };
        var model = Trainer.NewModel(Vocabulary.FromText(Text), 32, options);
        using var trainer = new Trainer(model, model.Vocabulary.Encode(Text), options);
        Assert.Equal(2, trainer.Threads);
        for (int i = 0; i < 5; i++) trainer.TrainStep();
        Assert.Equal(0, AllocationProbe.Steady(() => { for (int i = 0; i < 300; i++) trainer.TrainStep(); }));
    }

    // Process-wide counters also see the test host's own threads, so the workers are measured from inside: each
    // member reads its thread's counter at every call; first to last call spans the team's wait-and-signal loop. Each
    // slot waits until all have started, so no thread can run another's slot and every slot stays on one thread.
    [Fact]
    public void Worker_team_dispatch_allocates_nothing_on_any_member()
    {
        const int members = 3, runs = 400;
        var first = new long[members];
        var last = new long[members];
        Array.Fill(first, -1);
        int started = 0, run = 0;
        using var team = new WorkerTeam(members);
        Action<int> work = m =>
        {
            long now = GC.GetAllocatedBytesForCurrentThread();
            if (first[m] < 0) first[m] = now;
            last[m] = now;
            Interlocked.Increment(ref started);
            while (Volatile.Read(ref started) < members * (Volatile.Read(ref run) + 1)) Thread.SpinWait(1);
        };
        for (; run < runs; run++)
        {
            team.Run(work);
            if (run % 50 == 0) Thread.Sleep(5); // long enough for the members to stop spinning and block
        }
        for (int m = 0; m < members; m++) Assert.Equal(0, last[m] - first[m]);
    }

    [Fact]
    public void A_team_disposed_right_after_a_run_stops_every_member()
    {
        // a member still waking for the last Run while Dispose advances must stop, not take a slot of a Run that does
        // not exist (which left it waiting forever and Dispose joining it); many short lives give the race its chances
        var lives = Task.Run(() =>
        {
            for (int i = 0; i < 3000; i++)
            {
                var team = new WorkerTeam(2);
                team.Run(_ => { });
                team.Dispose();
            }
        });
        Assert.True(lives.Wait(TimeSpan.FromSeconds(120)), "a team's Dispose did not return");
    }

    [Fact]
    public void A_worker_exception_reaches_the_caller_and_the_team_keeps_working()
    {
        using var team = new WorkerTeam(2);
        var e = Assert.Throws<InvalidOperationException>(() => team.Run(m => { if (m == 1) throw new InvalidOperationException("boom"); }));
        Assert.Equal("boom", e.Message);
        int calls = 0;
        team.Run(_ => Interlocked.Increment(ref calls));
        Assert.Equal(2, calls);
    }
}
