using CharRnn.Fast.Inference;
using CharRnn.Fast.Text;
using CharRnn.Fast.Training;
using Xunit;

namespace CharRnn.Fast.Tests.Engine;

public class ConcurrencyTests
{
    [Fact]
    public void Generators_sharing_one_model_concurrently_equal_their_streams_alone()
    {
        const string text = "a shared model, many callers; each owns its state. ";
        var options = new TrainingOptions { Seed = 8, WeightInit = new Model.InitScheme(Model.InitKind.Normal, 0.3) };
        var model = new InferenceModel(Trainer.NewModel(Vocabulary.FromText(text), 48, options));
        var sampling = new[] { new SamplingOptions(1.0), new SamplingOptions(0.7, TopK: 5), new SamplingOptions(1.2, TopP: 0.9), new SamplingOptions(Greedy: true) };

        int[] Stream(int caller)
        {
            var generator = new Generator(model, seed: (ulong)caller);
            generator.Prime(caller % 2 == 0 ? "a " : "each");
            var ids = new int[3000];
            for (int i = 0; i < ids.Length; i++) ids[i] = generator.Next(sampling[caller % sampling.Length]);
            return ids;
        }

        const int callers = 16;
        var alone = Enumerable.Range(0, callers).Select(Stream).ToArray();
        var together = new int[callers][];
        using var start = new Barrier(callers);
        var threads = Enumerable.Range(0, callers).Select(c => new Thread(() => { start.SignalAndWait(); together[c] = Stream(c); })).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        for (int c = 0; c < callers; c++) Assert.Equal(alone[c], together[c]);
        // and the streams differ between callers, so the comparison above could fail
        Assert.NotEqual(alone[0], alone[2]);
    }
}
