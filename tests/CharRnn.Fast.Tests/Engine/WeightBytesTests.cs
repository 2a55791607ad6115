using CharRnn.Fast.Inference;
using CharRnn.Fast.Kernels;
using CharRnn.Fast.Model;
using CharRnn.Fast.Text;
using CharRnn.Fast.Training;
using Xunit;

namespace CharRnn.Fast.Tests.Engine;

public class WeightBytesTests
{
    [Theory]
    [InlineData("rnn", 1)]
    [InlineData("lstm", 2)]
    [InlineData("gru", 3)]
    public void A_generated_character_reads_every_streamed_matrix_once_in_its_format(string cellName, int layers)
    {
        // H = 16 (whole int8 groups of 4 and bf16 pairs), V = 37: the output layer's columns pad to whole vectors
        const int H = 16, V = 37;
        Assert.True(CellKinds.TryParse(cellName, out var cell));
        var vocabulary = Vocabulary.FromSymbols(Enumerable.Range(0, V).Select(i => new System.Text.Rune(0x100 + i)));
        var model = Trainer.NewModel(vocabulary, H, new TrainingOptions(), cell: cell, layers: layers);
        int gh = model.Parameters.Shape.GateWidth;
        foreach (var policy in KernelPolicy.Available)
        {
            int outputColumns = (V + policy.Width - 1) / policy.Width * policy.Width;
            // matrices [K = H, N]: W_hhᵀ of every layer, W_ihᵀ above layer 0, the output layer's Wᵀ
            long matrixWeights = (long)layers * H * gh + (long)(layers - 1) * H * gh + (long)H * outputColumns;
            long outputs = (long)layers * gh * 2 - gh + outputColumns; // N of each matrix, summed (int8 scales)
            // f32 whatever the format: the output bias, layer 0's gathered row, every layer's bias, GRU's b_hn
            long f32Rest = sizeof(float) * ((long)outputColumns + gh + (long)layers * gh + (cell == CellKind.Gru ? (long)layers * H : 0));
            Assert.Equal(sizeof(float) * matrixWeights + f32Rest, new InferenceModel(model, policy, WeightFormat.F32).WeightBytesPerCharacter);
            Assert.Equal(2 * matrixWeights + f32Rest, new InferenceModel(model, policy, WeightFormat.Bf16).WeightBytesPerCharacter);
            Assert.Equal(matrixWeights + sizeof(float) * outputs + f32Rest, new InferenceModel(model, policy, WeightFormat.Int8).WeightBytesPerCharacter);
        }
    }
}
