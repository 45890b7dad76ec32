// Checks of the Unity package's files (the directory of --package=.../package.json):
// every asset and folder has a .meta with a unique GUID (a git-URL install is
// immutable: Unity ignores files without one), the native plugin's .meta files
// enable exactly their platform and CPU, the plugin's name is that of
// DllImport and of no managed assembly, and link.xml and [Preserve] keep the
// binding whole under code stripping.

using System;
using System.Collections.Generic;
using System.IO;
using System.Reflection;
using System.Text.RegularExpressions;
using Attracker;

static partial class Program
{
    static void RunPackageTests()
    {
        if (packagePath == null)
        {
            Console.WriteLine("SKIP package_*: no --package=path/to/package.json given");
            return;
        }
        Run("package_every_asset_has_a_meta", PackageEveryAssetHasAMeta);
        Run("package_plugin_import_settings", PackagePluginImportSettings);
        Run("package_native_name_is_no_managed_name", PackageNativeNameIsNoManagedName);
        Run("package_stripping_is_prevented", PackageStrippingIsPrevented);
    }

    static string PackageDir => Path.GetDirectoryName(Path.GetFullPath(packagePath));

    static string Rel(string path) => path.Substring(PackageDir.Length + 1).Replace('\\', '/');

    // Unity skips hidden names: dotfiles and names ending with '~' (Samples~).
    static bool HiddenFromUnity(string name) => name.StartsWith(".") || name.EndsWith("~");

    // The plugin files the package's Plugins layout expects, with the platforms
    // ("first" keys of the importer) each must enable and, for Android, the CPU.
    static readonly Dictionary<string, string[]> PluginPlatforms = new Dictionary<string, string[]>
    {
        ["Plugins/x86_64/libattracker_native.so"] = new[] { "Editor: Editor", "Standalone: Linux64" },
        ["Plugins/x86_64/attracker_native.dll"] = new[] { "Editor: Editor", "Standalone: Win64" },
        ["Plugins/macOS/libattracker_native.dylib"] = new[] { "Editor: Editor", "Standalone: OSXUniversal" },
        ["Plugins/Android/arm64-v8a/libattracker_native.so"] = new[] { "Android: Android" },
        ["Plugins/Android/armeabi-v7a/libattracker_native.so"] = new[] { "Android: Android" },
        ["Plugins/Android/x86_64/libattracker_native.so"] = new[] { "Android: Android" },
        ["Plugins/iOS/libattracker_native.a"] = new[] { "iPhone: iOS" },
    };

    static void PackageEveryAssetHasAMeta()
    {
        var guids = new Dictionary<string, string>();
        int assets = WalkPackage(PackageDir, guids);
        Check(assets > 20, "the walk saw the package (" + assets + " assets)");
        foreach (string plugin in PluginPlatforms.Keys)
            Check(guids.ContainsValue(plugin + ".meta"), plugin + ".meta is in the package");
    }

    /// <summary>Checks the .meta files under dir; returns how many assets it saw.</summary>
    static int WalkPackage(string dir, Dictionary<string, string> guids)
    {
        int assets = 0;
        {
            foreach (string entry in Directory.GetFileSystemEntries(dir))
            {
                string name = Path.GetFileName(entry);
                if (HiddenFromUnity(name))
                    continue;
                string rel = Rel(entry);
                if (name.EndsWith(".meta"))
                {
                    string asset = entry.Substring(0, entry.Length - ".meta".Length);
                    Check(File.Exists(asset) || Directory.Exists(asset) || PluginPlatforms.ContainsKey(Rel(asset)),
                          rel + ": a .meta whose asset is neither in the package nor a plugin of the Plugins layout");
                    Match g = Regex.Match(File.ReadAllText(entry), @"^fileFormatVersion: 2\nguid: ([0-9a-f]{32})\n", RegexOptions.Multiline);
                    Check(g.Success, rel + ": starts with fileFormatVersion 2 and a 32-hex-digit guid");
                    string guid = g.Groups[1].Value;
                    Check(!guids.ContainsKey(guid), rel + ": guid " + guid + " is also " + (guids.ContainsKey(guid) ? guids[guid] : ""));
                    guids[guid] = rel;
                    continue;
                }
                assets++;
                bool isDir = Directory.Exists(entry);
                // Plugin binaries come from the build scripts; their .meta files are checked below.
                if (!(rel.StartsWith("Plugins/") && !isDir))
                    Check(File.Exists(entry + ".meta"), rel + " has no .meta: Unity ignores it in an immutable (git URL) install");
                if (isDir)
                {
                    string meta = File.ReadAllText(entry + ".meta");
                    Check(meta.Contains("folderAsset: yes"), rel + ".meta: a folder's meta says folderAsset: yes");
                    assets += WalkPackage(entry, guids);
                }
            }
        }
        return assets;
    }

    static void PackagePluginImportSettings()
    {
        string[] all = { "Android", "Editor", "Linux64", "OSXUniversal", "Win", "Win64", "iOS" };
        var row = new Regex(@"- first:\n      ([^\n]*)\n    second:\n      enabled: ([01])\n      settings:( \{\}|(?:\n        [^\n]*)*)");
        foreach (var p in PluginPlatforms)
        {
            string meta = File.ReadAllText(Path.Combine(PackageDir, p.Key + ".meta"));
            Check(meta.Contains("\nPluginImporter:\n"), p.Key + ".meta: a PluginImporter");
            var enabled = new List<string>();
            var settings = new Dictionary<string, string>();
            foreach (Match m in row.Matches(meta))
            {
                if (m.Groups[2].Value == "1")
                    enabled.Add(m.Groups[1].Value);
                settings[m.Groups[1].Value] = m.Groups[3].Value;
            }
            Check(settings.ContainsKey(": Any"), p.Key + ".meta: the Any row");
            Equal(string.Join(",", p.Value), string.Join(",", enabled), p.Key + ".meta: the platforms enabled");
            // The "Any" row's exclusions agree: only the enabled platforms are included.
            foreach (string platform in all)
            {
                bool included = Array.Exists(p.Value, e => e.EndsWith(": " + platform) || (platform == "Editor" && e == "Editor: Editor"));
                Check(settings[": Any"].Contains("Exclude " + platform + ": " + (included ? "0" : "1")),
                      p.Key + ".meta: Exclude " + platform + " is " + (included ? "0" : "1"));
            }
            string abi = Regex.Match(p.Key, "^Plugins/Android/([^/]+)/").Groups[1].Value;
            if (abi != "")
            {
                string cpu = abi == "arm64-v8a" ? "ARM64" : abi == "armeabi-v7a" ? "ARMv7" : "X86_64";
                Check(settings["Android: Android"].Contains("CPU: " + cpu), p.Key + ".meta: Android CPU " + cpu);
            }
            if (p.Key.StartsWith("Plugins/x86_64/"))
            {
                Check(settings["Editor: Editor"].Contains("CPU: x86_64"), p.Key + ".meta: Editor CPU x86_64");
                Check(settings["Editor: Editor"].Contains(p.Key.EndsWith(".dll") ? "OS: Windows" : "OS: Linux"), p.Key + ".meta: Editor OS");
            }
        }
    }

    static void PackageNativeNameIsNoManagedName()
    {
        string native = Native.NativeLibraryName;
        Equal("attracker_native", native, "the plugin name");
        // Every plugin file is that name (lib prefix and extension aside).
        foreach (string plugin in PluginPlatforms.Keys)
        {
            string stem = Path.GetFileNameWithoutExtension(plugin);
            if (stem.StartsWith("lib"))
                stem = stem.Substring(3);
            Equal(native, stem, plugin + ": the plugin file is the DllImport name");
        }
        // No managed assembly of the package has it, in any case (Windows and
        // macOS file systems are case-insensitive): not the asmdef names, not
        // the assembly this binding is compiled into.
        var managed = new List<string> { typeof(Tracker).Assembly.GetName().Name };
        foreach (string asmdef in Directory.GetFiles(PackageDir, "*.asmdef", SearchOption.AllDirectories))
            managed.Add(Regex.Match(File.ReadAllText(asmdef), "\"name\"\\s*:\\s*\"([^\"]+)\"").Groups[1].Value);
        Check(managed.Contains("Attracker"), "the Runtime asmdef's assembly is Attracker: " + string.Join(",", managed));
        foreach (string name in managed)
        {
            Check(name != "", "an asmdef without a name");
            Check(!string.Equals(name, native, StringComparison.OrdinalIgnoreCase)
                  && !string.Equals(name, "lib" + native, StringComparison.OrdinalIgnoreCase),
                  "the managed assembly " + name + " has the native library's name");
        }
        // And the library was loaded under it (this process calls it throughout).
        Check(Tracker.Version.Length > 0, "the native library answers under " + native);
    }

    static void PackageStrippingIsPrevented()
    {
        string runtimeLink = File.ReadAllText(Path.Combine(PackageDir, "Runtime", "link.xml"));
        string sampleLink = File.ReadAllText(Path.Combine(PackageDir, "Samples~", "Basic", "link.xml"));
        Equal(runtimeLink, sampleLink, "the sample's link.xml is the Runtime's");
        Check(Regex.IsMatch(runtimeLink, "<assembly fullname=\"Attracker\" preserve=\"all\"\\s*/>"),
              "link.xml preserves the whole Attracker assembly");
        // UnityLinker honours any attribute named PreserveAttribute.
        Type[] kept = { typeof(Native), typeof(NativeDispatchResult), typeof(NativeStats),
                        typeof(Tracker).Assembly.GetType("Attracker.Callbacks", true), typeof(HttpClientTransport) };
        foreach (Type t in kept)
        {
            bool preserved = false;
            foreach (object a in t.GetCustomAttributes(false))
                preserved |= a.GetType().Name == "PreserveAttribute";
            Check(preserved, t.Name + " carries [Preserve]");
        }
    }
}
