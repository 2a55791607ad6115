using CharRnn.Fast.Model;
using CharRnn.Fast.Text;
using CharRnn.Fast.Training;
using Xunit;

namespace CharRnn.Fast.Tests.Engine;

public sealed class EvaluatorCancellationTests
{
    private static readonly string Text = string.Concat(Enumerable.Repeat("validation can be stopped. ", 40));

    [Fact]
    public void A_cancelled_evaluation_stops_and_an_uncancelled_one_is_unchanged()
    {
        var model = Trainer.NewModel(Vocabulary.FromText(Text), 16, new TrainingOptions());
        var tokens = model.Vocabulary.Encode(Text);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.Throws<OperationCanceledException>(() => Evaluator.Evaluate(model, tokens, chunk: 64, cancellation: cancelled.Token));
        using var open = new CancellationTokenSource();
        Assert.Equal(Evaluator.Evaluate(model, tokens, chunk: 64), Evaluator.Evaluate(model, tokens, chunk: 64, cancellation: open.Token));
    }
}
