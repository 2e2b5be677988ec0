from chipqa.cli import main

main()
