from kensho_extract import Client

client = Client.from_env()
document = client.extract("report.pdf")
print(document.to_markdown())
