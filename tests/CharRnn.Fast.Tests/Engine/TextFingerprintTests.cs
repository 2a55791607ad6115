using System.Security.Cryptography;
using System.Text;
using CharRnn.Fast.Text;
using Xunit;

namespace CharRnn.Fast.Tests.Engine;

public sealed class TextFingerprintTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(65535)] // an emoji's surrogate pair cut by the 65,536-character chunk boundary
    [InlineData(65536)]
    [InlineData(200_001)]
    public void It_is_the_sha256_of_the_whole_texts_utf8(int asciiBefore)
    {
        string text = new string('a', asciiBefore) + "😀 é 中" + new string('z', 70_000);
        string expected = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
        Assert.Equal(expected, TextFingerprint.Of(text));
        Assert.True(TextFingerprint.IsWellFormed(expected));
    }

    [Fact]
    public void Texts_with_the_same_characters_in_another_order_differ()
        => Assert.NotEqual(TextFingerprint.Of("abc abc"), TextFingerprint.Of("cba cba"));

    [Theory]
    [InlineData("")]
    [InlineData("sha256:")]
    [InlineData("md5:0123")]
    [InlineData("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855")] // upper case
    public void Malformed_fingerprints_are_recognised(string value) => Assert.False(TextFingerprint.IsWellFormed(value));
}
