using CharRnn.Fast.Model;
using CharRnn.Fast.Text;
using CharRnn.Fast.Training;

namespace CharRnn.Fast.Benchmarks;

/// <summary>The benchmark workload of DESIGN.md §7: V = 65 synthetic symbols, T = 25, Adam, element-wise clip 5.</summary>
public static class Workload
{
    public const int Vocabulary = 65, SequenceLength = 25;

    /// <summary>Uniform random text over 65 printable symbols (seeded: every run sees the same tokens).</summary>
    public static (Vocabulary Vocabulary, int[] Tokens) Corpus(int length = 200_000)
    {
        var rng = new Random(12345);
        var chars = new char[length];
        for (int i = 0; i < length; i++) chars[i] = (char)('!' + rng.Next(Vocabulary));
        var text = new string(chars);
        var vocabulary = Text.Vocabulary.FromText(text);
        return (vocabulary, vocabulary.Encode(text));
    }

    public static TrainingOptions Options(int batch, int threads = 1) => new()
    {
        SequenceLength = SequenceLength,
        BatchSize = batch,
        Optimizer = OptimizerKind.Adam,
        LearningRate = 1e-3,
        ClipValue = 5,
        Threads = threads,
        WeightInit = new InitScheme(InitKind.Normal, 0.01),
    };
}
