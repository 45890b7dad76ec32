# Builds attracker for Windows with Visual Studio's toolchain (MSVC):
#
#   <out>\bin\attracker.dll        the DLL
#   <out>\unity\Plugins\x86_64\attracker_native.dll  the same DLL under the name
#                                  the Unity binding loads
#   <out>\lib\attracker.dll.lib    its import library
#   <out>\lib\attracker.lib        the static library (link also the libraries
#                                  rustc names: see README, "Windows")
#   <out>\include\at_tracker.h
#
# libcurl is built into the library from source by curl-sys (Schannel TLS);
# -NoCurl builds it without (the host sets a transport).
#
# Needs: Rust (rustup, the x86_64-pc-windows-msvc toolchain; for ARM64:
# rustup target add aarch64-pc-windows-msvc), Visual Studio 2019 or later
# with "Desktop development with C++" (cl.exe, link.exe), run from any
# PowerShell (cargo finds the compiler itself).
#
# Usage: powershell -File scripts\build-windows.ps1 [-Out dist\windows] [-Target x86_64-pc-windows-msvc] [-NoCurl]
# Not run where this repository is tested (Linux): see README, "Platforms".
param(
  [string]$Out = "dist\windows",
  [string]$Target = "x86_64-pc-windows-msvc",
  [switch]$NoCurl
)
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..")

if (-not (Get-Command cargo -ErrorAction SilentlyContinue)) {
  throw "build-windows: cargo not found: install Rust from https://rustup.rs"
}
$installed = & rustup target list --installed
if ($installed -notcontains $Target) { throw "build-windows: rustup target add $Target" }

$cargoArgs = @("build", "--release", "--locked", "--lib", "--target", $Target)
if ($NoCurl) { $cargoArgs += "--no-default-features" }
& cargo @cargoArgs
if ($LASTEXITCODE -ne 0) { throw "build-windows: cargo failed ($LASTEXITCODE)" }

$rel = Join-Path "target" (Join-Path $Target "release")
if (Test-Path $Out) { Remove-Item -Recurse -Force $Out }
New-Item -ItemType Directory -Force -Path "$Out\bin", "$Out\lib", "$Out\include" | Out-Null
Copy-Item "$rel\attracker.dll" "$Out\bin\"
New-Item -ItemType Directory -Force -Path "$Out\unity\Plugins\x86_64" | Out-Null
Copy-Item "$rel\attracker.dll" "$Out\unity\Plugins\x86_64\attracker_native.dll"
Copy-Item "$rel\attracker.dll.lib" "$Out\lib\"
Copy-Item "$rel\attracker.lib" "$Out\lib\"
Copy-Item "include\at_tracker.h" "$Out\include\"
Write-Host "build-windows: $Out"
