from chipqa.app.cli import main

main()
