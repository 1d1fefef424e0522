/*
 * bastion's bundled byte patterns.
 *
 * Rules with a `fact` meta are *evidence*, not verdicts: the Python rules in
 * bastion/scanning/rules/combine.py weigh each fact with where the file sits (setup.py,
 * __init__.py, a .pth file, a library module, tests or docs) and with the other facts found
 * beside it. Operators' own rules (BASTION_SCAN_RULES_DIR) normally carry `severity` and
 * `description` instead and become findings directly.
 */

rule discord_webhook_with_token
{
    meta:
        fact = "webhook"
        description = "a Discord webhook address with its secret token"
    strings:
        $a = /discord(app)?\.com\/api\/webhooks\/[0-9]{15,21}\/[A-Za-z0-9_\-]{40,}/
        $b = /canary\.discord(app)?\.com\/api\/webhooks\/[0-9]{15,21}/
    condition:
        any of them
}

rule telegram_bot_token
{
    meta:
        fact = "webhook"
        description = "a Telegram bot token"
    strings:
        $a = /[^0-9A-Za-z_][0-9]{8,11}:AA[A-Za-z0-9_\-]{32,33}[^A-Za-z0-9_\-]/
    condition:
        $a
}

rule webhook_service_url
{
    meta:
        fact = "url-oob"
        description = "an out-of-band callback or request-capture service"
    strings:
        $a = /[a-z0-9]{8,}\.(oast\.(fun|me|live|site|online|pro)|interact\.sh|burpcollaborator\.net|oastify\.com|dnslog\.cn|ceye\.io)/ nocase
        $b = "webhook.site/" nocase
        $c = /[a-z0-9]+\.m\.pipedream\.net/ nocase
        $d = /en[a-z0-9]{10,}\.(x\.)?pipedream\.net/ nocase
        $e = "requestbin" nocase
        $f = "canarytokens.com" nocase
        $g = "hookbin.com" nocase
        $h = "beeceptor.com" nocase
        $i = "requestrepo.com" nocase
    condition:
        any of them
}

rule paste_or_file_drop_url
{
    meta:
        fact = "url-paste"
        description = "a paste site, anonymous file host or link shortener"
    strings:
        $a = /pastebin\.com\/raw/ nocase
        $b = /(paste\.ee|hastebin\.com|rentry\.(co|org)|ghostbin\.|termbin\.com|dpaste\.(com|org)|controlc\.com|pastefy\.app|paste\.rs|justpaste\.it)\// nocase
        $c = /(transfer\.sh|anonfiles\.com|file\.io|gofile\.io|catbox\.moe|bashupload\.com|filebin\.net|tmpfiles\.org|0x0\.st|temp\.sh|store[0-9]\.gofile\.io|mediafire\.com\/file|dropbox\.com\/s\/)/ nocase
        $d = /(bit\.ly|tinyurl\.com|cutt\.ly|is\.gd|t\.ly|rb\.gy|shorturl\.at|tiny\.cc)\/[A-Za-z0-9]/
        $e = /cdn\.discordapp\.com\/attachments\/[0-9]+/ nocase
        $f = /raw\.githubusercontent\.com\/[^'" ]{1,200}\.(exe|dll|bat|ps1|vbs|scr|msi|bin)["']/ nocase
        $g = /github\.com\/[^'" ]{1,200}\/releases\/download\/[^'" ]{1,200}\.(exe|scr|bat|vbs|ps1)["']/ nocase
    condition:
        any of them
}

rule tunnel_or_dynamic_dns_url
{
    meta:
        fact = "url-tunnel"
        description = "a tunnelling service or dynamic-DNS host"
    strings:
        $a = /[a-z0-9\-]+\.(ngrok\.io|ngrok-free\.app|ngrok-free\.dev|ngrok\.app|ngrok\.dev|trycloudflare\.com|serveo\.net|loca\.lt|duckdns\.org|ddns\.net|hopto\.org|no-ip\.(org|biz)|zapto\.org|portmap\.io|glitch\.me|repl\.co|replit\.dev|onion)\b/ nocase
    condition:
        $a
}

rule url_with_raw_ip
{
    meta:
        fact = "url-ip"
        description = "a URL that names a raw IP address"
    strings:
        $a = /(https?|ftp|tcp):\/\/[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}/ nocase
    condition:
        $a
}

rule browser_credential_stores
{
    meta:
        fact = "browser"
        description = "paths of browsers' saved passwords, cookies or encryption keys"
    strings:
        $a = "Login Data" nocase
        $b = "Local State" nocase
        $c = "encrypted_key"
        $d = "logins.json"
        $e = "key4.db"
        $f = "Web Data"
        $g = "CryptUnprotectData"
        $h = /User Data(\\\\|\/)Default/ nocase
    condition:
        2 of them
}

rule discord_token_theft
{
    meta:
        fact = "discord-token"
        description = "looks for Discord account tokens in local storage"
    strings:
        $a = "dQw4w9WgXcQ:"
        $b = /\[\\w-\]\{24,?\d*\}\\\.\[\\w-\]\{6\}\\\.\[\\w-\]\{2[0-9],?\d*\}/
        $c = /mfa\\\.\[\\w-\]\{84\}/
        $d = /discord(canary|ptb)?(\\\\|\/)Local Storage(\\\\|\/)leveldb/ nocase
        $e = /Local Storage(\\\\|\/)+leveldb/ nocase
    condition:
        any of them
}

rule crypto_wallet_paths
{
    meta:
        fact = "wallet"
        description = "paths or extension ids of cryptocurrency wallets"
    strings:
        $a = "nkbihfbeogaeaoehlefnkodbefgpgknn"
        $b = "wallet.dat"
        $c = /Exodus(\\\\|\/)exodus\.wallet/ nocase
        $d = /Electrum(\\\\|\/)wallets/ nocase
        $e = /atomic(\\\\|\/)Local Storage/ nocase
        $f = "fhbohimaelbohpjbbldcngcnapndodjp"
        $g = "bfnaelmomeimhlpmgjnjophhpkkoljpa"
        $h = /(Coinomi|Guarda|Jaxx Liberty|Armory|Zcash|Bytecoin)(\\\\|\/)/
    condition:
        any of them
}

rule clipboard_crypto_address
{
    meta:
        fact = "clipper"
        description = "matches cryptocurrency addresses, as clipboard hijackers do"
    strings:
        $re1 = "^(bc1|[13])[a-zA-HJ-NP-Z0-9]{25,39}$"
        $re2 = "^0x[a-fA-F0-9]{40}$"
        $clip1 = "clipboard" nocase
        $clip2 = "pyperclip"
    condition:
        any of ($re*) and any of ($clip*)
}

rule credential_files
{
    meta:
        fact = "creds"
        description = "paths of SSH keys, cloud or package-registry credentials, or system password files"
    strings:
        $a = /\.ssh(\/|\\\\)(id_rsa|id_ed25519|id_ecdsa|authorized_keys)/
        $b = /\.aws(\/|\\\\)credentials/
        $c = ".git-credentials"
        $d = ".pypirc"
        $e = /\.docker(\/|\\\\)config\.json/
        $f = /\.kube(\/|\\\\)config/
        $g = "/etc/shadow"
        $h = ".bash_history"
        $i = /\.config(\/|\\\\)gcloud/
        $j = "Telegram Desktop" nocase
        $k = /tdata["'\\\/]/
        $l = "FileZilla" nocase
        $m = ".npmrc"
    condition:
        any of them
}

rule shell_download_and_run
{
    meta:
        fact = "shell-download"
        description = "a shell or PowerShell command that downloads and runs something"
    strings:
        $a = /(curl|wget)\s[^\n]{0,200}\|\s*(sudo\s+)?(ba|z|da)?sh\b/
        $b = "DownloadString(" nocase
        $c = "DownloadFile(" nocase
        $d = /Invoke-WebRequest|Invoke-Expression|Start-BitsTransfer/ nocase
        $e = /powershell(\.exe)?["',\s]+[^\n]{0,80}-(e|en|enc|encodedcommand)\s/ nocase
        $f = /certutil(\.exe)?\s+-urlcache/ nocase
        $g = /bitsadmin(\.exe)?\s+\/transfer/ nocase
        $h = /mshta(\.exe)?\s+(http|vbscript|javascript)/ nocase
        $i = /\biex\s*\(/ nocase
        $j = /(curl|wget)\s[^\n]{0,200}(&&|;)\s*chmod\s+\+x/
        $k = /-WindowStyle\s+Hidden/ nocase
        $l = /(curl|wget)\s[^\n]{0,120}-(o|O)\s[^\n]{0,120}(&&|;)\s*(\.\/|start|bash|sh|python)/
    condition:
        any of them
}

rule reverse_shell
{
    meta:
        fact = "revshell"
        description = "a reverse shell"
    strings:
        $a = "/dev/tcp/"
        $b = /bash\s+-i\s+>&/
        $c = /\bnc(at)?\s+(-e|-c)\s/
        // stdin taken from another descriptor: a log file takes stdout and stderr only
        $d = /os\.dup2\(\s*[a-z_]+\.fileno\(\)\s*,\s*0\s*\)/
        $e = /pty\.spawn\(\s*["']\/bin\/(ba)?sh/
    condition:
        any of them
}

rule persistence_locations
{
    meta:
        fact = "persistence"
        description = "writes itself into autostart locations"
    strings:
        $a = /CurrentVersion\\{1,2}Run/ nocase
        $b = /Start Menu\\{1,2}Programs\\{1,2}Startup/ nocase
        $c = /schtasks(\.exe)?\s+\/create/ nocase
        $d = "LaunchAgents"
        $e = /Microsoft\\{1,2}Windows\\{1,2}Start Menu/ nocase
        $f = "shell:startup" nocase
    condition:
        any of them
}

rule base64_encoded_executable
{
    meta:
        fact = "embedded-exe"
        description = "an executable (Windows PE or ELF) hidden as base64 text"
    strings:
        $pe1 = "TVqQAAMAAAAEAAAA"
        $pe2 = "TVpQAAIAAAAEAA8A"
        $pe3 = "TVoAAAAAAAAAAAAA"
        $elf = "f0VMRgIBAQAAAAAAAAAAA"
        $elf2 = "f0VMRgEBAQAAAAAAAAAAA"
    condition:
        any of them
}

rule pyarmor_protected
{
    meta:
        fact = "pyarmor"
        description = "code protected with PyArmor (unreadable until run)"
    strings:
        $a = "__pyarmor__("
        $b = /from pyarmor_runtime(_[0-9]+)? import __pyarmor__/
        $c = "from pytransform import pyarmor_runtime"
        $d = "__pyarmor_enter"
    condition:
        any of them
}

rule anti_analysis_checks
{
    meta:
        fact = "anti-analysis"
        description = "looks for virtual machines, sandboxes or analysis tools before acting"
    strings:
        $a = "vmtoolsd" nocase
        $b = "VBoxService" nocase
        $c = "wireshark" nocase
        $d = "SbieDll" nocase
        $e = "vboxtray" nocase
        $f = "x64dbg" nocase
        $g = "ollydbg" nocase
        $h = "processhacker" nocase
        $i = "HTTPDebuggerUI" nocase
        $j = "fiddler" nocase
    condition:
        3 of them
}

rule hidden_by_whitespace
{
    meta:
        fact = "hidden-code"
        description = "code pushed far to the right of a line so that editors do not show it"
    strings:
        $a = /[^\s][ \t]{180,}(;|import |exec|eval|__import__|from )/
    condition:
        $a
}

rule powershell_or_batch_payload
{
    meta:
        fact = "script-payload"
        description = "Windows script payload markers"
    strings:
        $a = /\.(vbs|bat|ps1|cmd|scr|hta)["']\s*[,)]/ nocase
        $b = /WScript\.Shell/ nocase
        $c = /Set-MpPreference\s+-(DisableRealtimeMonitoring|ExclusionPath)/ nocase
        $d = /Add-MpPreference\s+-ExclusionPath/ nocase
    condition:
        any of them
}

/* Cheap hints that tell the engine which library modules are worth parsing. */
rule hint_exec
{
    meta:
        fact = "hint-exec"
        description = "dynamic execution appears in the text"
    strings:
        $a = /\bexec\s{0,3}\(/
        $b = /\beval\s{0,3}\(/
        $c = /__import__\s{0,3}\(/
        $d = "execfile("
    condition:
        any of them
}

rule hint_net
{
    meta:
        fact = "hint-net"
        description = "network modules appear in the text"
    strings:
        $a = "urlopen"
        $b = "urlretrieve"
        $c = "requests"
        $d = "socket"
        $e = "urllib"
        $f = "httpx"
        $g = "aiohttp"
        $h = "http.client"
    condition:
        any of them
}

rule hint_proc
{
    meta:
        fact = "hint-proc"
        description = "process creation appears in the text"
    strings:
        $a = "subprocess"
        $b = "os.system"
        $c = "popen" nocase
        $d = "startfile"
        $e = /spawn[lv]/
        $f = /os\.exec[lv]/
    condition:
        any of them
}

rule hint_crypto
{
    meta:
        fact = "hint-crypto"
        description = "legacy crypto libraries appear in the text"
    strings:
        $a = "OpenSSL"
        $b = "M2Crypto"
        $c = "from Crypto"
        $d = "import Crypto"
    condition:
        any of them
}
