from loratui.cli.main import main

raise SystemExit(main())
