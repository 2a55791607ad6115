using System.Text;
using CharRnn.Fast.IO;
using Xunit;

namespace CharRnn.Fast.Tests.IO;

public class TextFileTests
{
    [Fact]
    public void Valid_text_with_emoji_and_cjk_decodes_and_a_bom_is_stripped()
    {
        var text = "héllo 世界 😀\n";
        Assert.Equal(text, TextFile.DecodeUtf8(Encoding.UTF8.GetBytes(text), "t"));
        Assert.Equal(text, TextFile.DecodeUtf8([0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(text)], "t"));
    }

    [Fact]
    public void Invalid_utf8_names_the_byte_offset_or_is_replaced_on_request()
    {
        byte[] bytes = [(byte)'a', (byte)'b', 0xC3, (byte)'c', (byte)'d'];
        var e = Assert.Throws<TextInputException>(() => TextFile.DecodeUtf8(bytes, "in.txt"));
        Assert.Contains("byte offset 2", e.Message);
        Assert.Contains("--replace-invalid", e.Message);
        var withBom = Assert.Throws<TextInputException>(() => TextFile.DecodeUtf8([0xEF, 0xBB, 0xBF, .. bytes], "in.txt"));
        Assert.Contains("byte offset 5", withBom.Message); // offsets count from the file's first byte
        Assert.Equal("ab\uFFFDcd", TextFile.DecodeUtf8(bytes, "in.txt", replaceInvalid: true));
        Assert.Throws<TextInputException>(() => TextFile.DecodeUtf8([(byte)'a', 0xE4, 0xB8], "cut")); // truncated sequence at the end
    }

    [Fact]
    public void A_missing_file_is_a_clear_error()
    {
        var e = Assert.Throws<TextInputException>(() => TextFile.ReadUtf8("/nonexistent/x.txt"));
        Assert.Contains("does not exist", e.Message);
    }
}
