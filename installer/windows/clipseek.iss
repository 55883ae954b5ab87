; Inno Setup script: a per-user Windows installer for the ClipSeek one-folder bundle.
; NOT BUILT in this repository's CI (it needs Windows); see installer/README.md, "Windows".
;
;   iscc /DAppVersion=0.1.0 /DFlavour=cpu installer\windows\clipseek.iss
;
; Expects build\installer-<Flavour>\dist\clipseek\ (PyInstaller with installer\clipseek.spec on Windows:
; clipseek-gui.exe, the window, and clipseek.exe, the command line) and build\icons\clipseek.ico.
; Writes dist\clipseek-<AppVersion>-windows-x86_64-<Flavour>-setup.exe.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#ifndef Flavour
  #define Flavour "cpu"
#endif
#define Root "..\.."
#define Bundle Root + "\build\installer-" + Flavour + "\dist\clipseek"

[Setup]
AppId={{6F1B2B7E-3C55-4E0B-9D43-C11F5EEC0A11}
AppName=ClipSeek
AppVersion={#AppVersion}
AppVerName=ClipSeek {#AppVersion}
AppPublisher=ClipSeek
DefaultDirName={autopf}\ClipSeek
DefaultGroupName=ClipSeek
DisableProgramGroupPage=yes
; Per-user by default (no administrator needed); the user may choose all users in the dialog.
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputDir={#Root}\dist
OutputBaseFilename=clipseek-{#AppVersion}-windows-x86_64-{#Flavour}-setup
SetupIconFile={#Root}\build\icons\clipseek.ico
UninstallDisplayIcon={app}\clipseek-gui.exe
UninstallDisplayName=ClipSeek
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ChangesEnvironment=yes

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "addtopath"; Description: "Add the clipseek command to PATH"; Flags: unchecked

[Files]
Source: "{#Bundle}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\ClipSeek"; Filename: "{app}\clipseek-gui.exe"; Comment: "Find moments in your videos"
Name: "{autodesktop}\ClipSeek"; Filename: "{app}\clipseek-gui.exe"; Tasks: desktopicon

[Registry]
Root: HKA; Subkey: "{code:EnvironmentKey}"; ValueType: expandsz; ValueName: "Path"; \
  ValueData: "{olddata};{app}"; Tasks: addtopath; Check: NeedsAddPath(ExpandConstant('{app}'))

[Run]
Filename: "{app}\clipseek-gui.exe"; Description: "{cm:LaunchProgram,ClipSeek}"; Flags: nowait postinstall skipifsilent

; The user's libraries, settings and models live in %LOCALAPPDATA%\ClipSeek and are left in place
; on uninstall, like on Linux.

[Code]
function EnvironmentKey(Param: String): String;
begin
  if IsAdminInstallMode then
    Result := 'SYSTEM\CurrentControlSet\Control\Session Manager\Environment'
  else
    Result := 'Environment';
end;

function NeedsAddPath(Dir: String): Boolean;
var
  Paths: String;
begin
  if not RegQueryStringValue(HKA, EnvironmentKey(''), 'Path', Paths) then
  begin
    Result := True;
    exit;
  end;
  Result := Pos(';' + Uppercase(Dir) + ';', ';' + Uppercase(Paths) + ';') = 0;
end;
